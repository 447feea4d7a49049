"""Stepwise starts on what it declares: `make run` and the image install the project's own
dependencies, not the test tools', which bring many packages of their own."""

import pytest

from tests.scripts import python_run

# Runs in a fresh interpreter: every distribution outside the closure of Stepwise's declared
# dependencies (extras followed, markers evaluated) is made unimportable, as on a machine
# where only those were installed; then the app is set up and loaded as its processes load it.
STARTS_ON_ITS_DEPENDENCIES = r"""
import importlib.abc
import importlib.metadata as metadata
import sys

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

def closure(name):
    found, todo = {}, [(name, frozenset())]
    while todo:
        dist_name, extras = todo.pop()
        key = canonicalize_name(dist_name)
        if extras <= found.get(key, frozenset()) and key in found:
            continue
        found[key] = found.get(key, frozenset()) | extras
        for line in metadata.distribution(dist_name).requires or []:
            requirement = Requirement(line)
            wanted = requirement.marker is None or any(
                requirement.marker.evaluate({"extra": extra}) for extra in extras | {""}
            )
            if wanted:
                todo.append((requirement.name, frozenset(requirement.extras)))
    return set(found)

declared = closure("stepwise")
blocked = {
    module
    for module, dists in metadata.packages_distributions().items()
    if not any(canonicalize_name(dist) in declared for dist in dists)
}

class Undeclared(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        top = fullname.partition(".")[0]
        if top in blocked:
            raise ModuleNotFoundError(
                f"No module named {top!r} (installed here, but no dependency Stepwise "
                "declares brings it)",
                name=top,
            )
        return None

sys.meta_path.insert(0, Undeclared())

import django
django.setup()
from django.urls import get_resolver
get_resolver().url_patterns  # every app's views
import config.wsgi
from config.celery_app import app
app.loader.import_default_modules()  # every app's tasks
from django.core.management import call_command, get_commands, load_command_class
for name, app_name in get_commands().items():
    load_command_class(app_name, name)  # every command, make run's and the jobs' included
# Loaded only when used: Google's sign-in tokens, an authenticator app's QR code.
import jwt
import qrcode
call_command("check")
print("started on", len(declared), "distributions")
"""


@pytest.mark.parametrize("settings_module", ["config.settings.dev", "config.settings.production"])
def test_the_app_starts_with_its_declared_dependencies_alone(settings_module, tmp_path):
    env = {
        "DJANGO_SETTINGS_MODULE": settings_module,
        "PYTHONDONTWRITEBYTECODE": "1",
        # What production refuses to start without (no connection is made).
        "SECRET_KEY": "dependencies-test-" + "x" * 50,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SITE_URL": "https://stepwise.example.org",
        "DATABASE_URL": "postgres://stepwise@127.0.0.1:5432/stepwise",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "EMAIL_URL": "smtp://127.0.0.1:25",
        "DEFAULT_FROM_EMAIL": "Stepwise <hello@stepwise.example.org>",
        "STATIC_ROOT": str(tmp_path),
    }

    out = python_run(STARTS_ON_ITS_DEPENDENCIES, env)

    assert "started on" in out
