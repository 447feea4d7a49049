"""The project as a whole: checks pass, migrations match models, compose names real things."""

import importlib
import re
import shlex
from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.core.management import call_command

ROOT = Path(settings.BASE_DIR)
APP_SERVICES = ("web", "worker", "beat")
# Read by Django or Python themselves rather than by our settings.
RUNTIME_VARIABLES = {"DJANGO_SETTINGS_MODULE"}


def test_manage_py_check_passes():
    out = StringIO()
    call_command("check", stdout=out)
    assert "no issues" in out.getvalue()


@pytest.mark.django_db
def test_no_missing_migrations():
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _settings_variables() -> set[str]:
    source = "\n".join(p.read_text() for p in (ROOT / "config" / "settings").glob("*.py"))
    return set(re.findall(r"env(?:\.\w+)?\(\s*\"([A-Z_]+)\"", source))


def test_compose_runs_postgres_redis_web_worker_beat():
    assert set(_compose()["services"]) >= {"postgres", "redis", *APP_SERVICES}


@pytest.mark.parametrize("service", APP_SERVICES)
def test_compose_app_services_share_one_image(service):
    spec = _compose()["services"][service]
    assert spec["image"] == "stepwise:latest"
    assert spec["build"] == "."


@pytest.mark.parametrize("service", APP_SERVICES)
def test_compose_sets_only_variables_the_settings_read(service):
    environment = _compose()["services"][service]["environment"]
    unknown = set(environment) - _settings_variables() - RUNTIME_VARIABLES
    assert not unknown, f"{service} sets variables nothing reads: {sorted(unknown)}"
    assert importlib.util.find_spec(environment["DJANGO_SETTINGS_MODULE"]) is not None


def _command_lines(command: str) -> list[list[str]]:
    """The command's programs as argument lists, unwrapping ``sh -c "a && b"``."""
    words = shlex.split(command)
    if words[:2] == ["sh", "-c"]:
        return [shlex.split(part) for part in words[2].split("&&")]
    return [words]


def _check_program(words: list[str]) -> None:
    program = words[0]
    if program == "python":
        assert words[1] == "manage.py"
        assert words[2] in _management_commands(), f"no manage.py command {words[2]!r}"
    elif program == "gunicorn":
        module, attribute = words[1].split(":")
        assert hasattr(importlib.import_module(module), attribute), words[1]
    elif program == "celery":
        app_module = words[words.index("-A") + 1]
        assert hasattr(importlib.import_module(app_module), "app"), app_module
        assert words[words.index("-A") + 2] in {"worker", "beat"}
        if "--scheduler" in words:
            module, _, attribute = words[words.index("--scheduler") + 1].partition(":")
            assert hasattr(importlib.import_module(module), attribute)
    else:
        pytest.fail(f"unexpected program {program!r} in compose")


@pytest.mark.parametrize("service", APP_SERVICES)
def test_compose_commands_name_real_modules(service):
    for words in _command_lines(_compose()["services"][service]["command"]):
        _check_program(words)


def _management_commands() -> set[str]:
    from django.core.management import get_commands

    return set(get_commands())


def test_every_variable_the_readme_names_is_read_by_settings():
    readme = (ROOT / "README.md").read_text()
    for name in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "EMAIL_URL"):
        assert name in readme
        assert name in _settings_variables()
