"""Deployment as an operator runs it: gunicorn's settings, the nginx proxy, compose and
.env.example.

The slow-client tests start the real gunicorn (and nginx) on free loopback ports, open 12
connections that trickle their headers one byte a second, as the clients that once took the
site down did, and check that /healthz still answers meanwhile.
"""

import ast
import http.client
import importlib
import os
import re
import shlex
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.core.management import get_commands

from tests.conftest import _need, redis_url
from tests.production import free_port, production_server, wait_for_http

ROOT = Path(settings.BASE_DIR)
SLOW_CLIENTS = 12
# Generous: /healthz answers in milliseconds when a thread is free, never when none is.
ANSWER_WITHIN_SECONDS = 1.0


def _get(port: int, path: str, timeout: float) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def gunicorn_port() -> Iterator[int]:
    """gunicorn from the repository's gunicorn.conf.py under production settings."""
    with production_server(redis_url=redis_url()) as server:
        yield int(server.url.rsplit(":", 1)[1])


@contextmanager
def _trickling_clients(port: int) -> Iterator[None]:
    """12 clients that send a request line, then one header byte a second, never ending."""
    clients = []
    for _ in range(SLOW_CLIENTS):
        client = socket.create_connection(("127.0.0.1", port), timeout=5)
        client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        clients.append(client)
    stop = threading.Event()

    def trickle() -> None:
        header = b"X-Slow: " + b"a" * 10_000
        for byte in header:
            if stop.wait(1.0):
                return
            for client in clients:
                # The server may give up on a slow client, which is fine.
                with suppress(OSError):
                    client.sendall(bytes([byte]))

    trickler = threading.Thread(target=trickle, daemon=True)
    trickler.start()
    try:
        time.sleep(1.5)  # every slow client is now being read by the server
        yield
    finally:
        stop.set()
        trickler.join()
        for client in clients:
            client.close()


def _assert_healthz_answers_while_clients_trickle(port: int) -> None:
    with _trickling_clients(port):
        # Several fresh connections, so each gunicorn process gets asked.
        for attempt in range(6):
            try:
                status, body = _get(port, "/healthz", timeout=ANSWER_WITHIN_SECONDS)
            except TimeoutError:
                pytest.fail(
                    f"/healthz (attempt {attempt + 1}) did not answer within "
                    f"{ANSWER_WITHIN_SECONDS} s while {SLOW_CLIENTS} clients trickled headers"
                )
            assert status == 200, body
            time.sleep(0.2)


def test_gunicorn_answers_while_slow_clients_trickle_headers(gunicorn_port):
    _assert_healthz_answers_while_clients_trickle(gunicorn_port)


@pytest.mark.parametrize(("serving", "exit_code"), [(True, 0), (False, 1)])
def test_container_health_check_asks_gunicorn_for_healthz(gunicorn_port, serving, exit_code):
    port = gunicorn_port if serving else free_port()
    env = {**os.environ, "GUNICORN_BIND": f"0.0.0.0:{port}", "SITE_URL": "https://localhost"}
    check = subprocess.run(
        [sys.executable, "deploy/healthcheck.py"], cwd=ROOT, env=env, capture_output=True
    )
    assert check.returncode == exit_code, check.stderr


# --- the image -----------------------------------------------------------------------------


def _dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def test_image_runs_gunicorn_from_its_config_file_as_a_user_with_a_health_check():
    dockerfile = _dockerfile()
    assert 'CMD ["gunicorn", "-c", "gunicorn.conf.py", "config.wsgi:application"]' in dockerfile
    assert "HEALTHCHECK" in dockerfile and "deploy/healthcheck.py" in dockerfile
    users = re.findall(r"^USER (\S+)", dockerfile, re.MULTILINE)
    assert users and users[-1] not in {"root", "0"}


def test_image_build_collects_static_files_under_production_settings(tmp_path):
    # The build's own command line, run as the build runs it (a dry run: the settings are
    # what is checked here; tests/production.py collects for real).
    build = re.search(r"(DJANGO_SETTINGS_MODULE=.*?collectstatic --no-input)", _dockerfile(), re.S)
    assert build, "the Dockerfile no longer runs collectstatic"
    command = build.group(1).replace("\\\n", " ").replace("python ", f"{sys.executable} ")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "PYTEST_")) and k not in {"DATABASE_URL", "REDIS_URL"}
    }
    result = subprocess.run(  # noqa: S603 - the Dockerfile's own command
        ["/bin/sh", "-c", f"{command} --dry-run"],
        cwd=ROOT,
        env={**env, "STATIC_ROOT": str(tmp_path)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "static files copied" in result.stdout


# --- nginx in front ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nginx_binary() -> str:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    _need("nginx (Debian's: apt-get install nginx)", found is not None)
    assert found is not None
    return found


def _interpolate(text: str, values: dict[str, str]) -> str:
    """Compose's ``${NAME:-default}`` and ``${NAME:?message}``, from ``values``."""

    def value(match: re.Match[str]) -> str:
        name, kind, rest = match.groups()
        if name in values:
            return values[name]
        assert kind == ":-", f"{name} is required by compose"
        return rest

    return re.sub(r"\$\{([A-Z_0-9]+)(:[-?])?([^}]*)\}", value, text)


def _nginx_tree(root: Path, *, site: str) -> dict[str, Path]:
    """The repository's nginx files where compose mounts them, moved under ``root``.

    Returns the mounted files by their path in the container.
    """
    files = {}
    for volume in _compose()["services"]["nginx"]["volumes"]:
        source, target = _interpolate(volume, {"NGINX_SITE": site}).split(":")[:2]
        if not (ROOT / source).is_file():
            continue  # the certificates' folder
        text = (ROOT / source).read_text()
        for prefix in ("/etc/nginx/", "/var/cache/nginx/", "/var/log/nginx/"):
            text = text.replace(prefix, f"{root}{prefix}")
        files[target] = root / target.lstrip("/")
        files[target].parent.mkdir(parents=True, exist_ok=True)
        files[target].write_text(text)
    for folder in ("etc/nginx/certs", "var/cache/nginx", "var/log/nginx", "temp"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    # The official image's /etc/nginx/nginx.conf, its http block whole (a directive our
    # files set again there would stop nginx), with every path under root.
    user = "user root;" if os.geteuid() == 0 else ""
    (root / "nginx.conf").write_text(
        f"""
        daemon off;
        worker_processes 1;
        pid {root}/nginx.pid;
        error_log {root}/var/log/nginx/error.log;
        {user}
        events {{ worker_connections 512; }}
        http {{
            include /etc/nginx/mime.types;
            default_type application/octet-stream;
            log_format main '$remote_addr - $remote_user [$time_local] "$request" '
                            '$status $body_bytes_sent "$http_referer" '
                            '"$http_user_agent" "$http_x_forwarded_for"';
            access_log {root}/var/log/nginx/access.log main;
            sendfile on;
            keepalive_timeout 65;
            client_body_temp_path {root}/temp/body;
            proxy_temp_path {root}/temp/proxy;
            fastcgi_temp_path {root}/temp/fastcgi;
            uwsgi_temp_path {root}/temp/uwsgi;
            scgi_temp_path {root}/temp/scgi;
            include {root}/etc/nginx/conf.d/*.conf;
        }}
        """
    )
    return files


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path.name} no longer says {old!r}: update this test"
    path.write_text(text.replace(old, new))


def _point_at_loopback(files: dict[str, Path], *, upstream_port: int) -> None:
    """The upstream at the test's gunicorn, nginx's status port on a free loopback port."""
    conf = files["/etc/nginx/conf.d/default.conf"]
    _edit(conf, "server web:8000;", f"server 127.0.0.1:{upstream_port};")
    _edit(conf, "listen 127.0.0.1:8081;", f"listen 127.0.0.1:{free_port()};")


@contextmanager
def _nginx(binary: str, root: Path, port: int) -> Iterator[None]:
    log = root / "nginx.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - the machine's nginx, our config
            [binary, "-p", str(root), "-c", str(root / "nginx.conf"), "-e", "stderr"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        try:
            wait_for_http(f"http://127.0.0.1:{port}/healthz", process)
        except RuntimeError as exc:
            pytest.fail(f"nginx: {exc}\n{log.read_text()}")
        yield
    finally:
        process.terminate()  # the master stops its workers
        process.wait(10)


@pytest.fixture(scope="module")
def nginx_port(nginx_binary, gunicorn_port, tmp_path_factory) -> Iterator[int]:
    """nginx with the repository's plain-HTTP site, in front of the test's gunicorn."""
    root = tmp_path_factory.mktemp("nginx-http")
    files = _nginx_tree(root, site="http")
    _point_at_loopback(files, upstream_port=gunicorn_port)
    port = free_port()
    site = files["/etc/nginx/stepwise/site.conf"]
    _edit(site, "listen 80 default_server;", f"listen 127.0.0.1:{port} default_server;")
    with _nginx(nginx_binary, root, port):
        yield port


def test_nginx_answers_while_slow_clients_trickle_headers(nginx_port):
    _assert_healthz_answers_while_clients_trickle(nginx_port)


def test_nginx_refuses_a_body_larger_than_django_accepts(nginx_port):
    with socket.create_connection(("127.0.0.1", nginx_port), timeout=5) as client:
        client.sendall(
            b"POST /api/v1/progress/sync/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\n"
            + f"Content-Length: {settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1}\r\n\r\n".encode()
        )
        status_line = client.recv(64).split(b"\r\n")[0]
    assert status_line == b"HTTP/1.1 413 Request Entity Too Large"


def _nginx_version(binary: str) -> tuple[int, ...]:
    banner = subprocess.run([binary, "-v"], capture_output=True, text=True).stderr  # noqa: S603
    found = re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", banner)
    assert found, banner
    return tuple(int(part) for part in found.groups())


def test_production_site_serves_tls_and_redirects_plain_http(nginx_binary, gunicorn_port, tmp_path):
    openssl = shutil.which("openssl")
    _need("openssl", openssl is not None)
    assert openssl is not None
    # Given the TLS site as compose mounts it, with a certificate for 127.0.0.1
    files = _nginx_tree(tmp_path, site="https")
    _point_at_loopback(files, upstream_port=gunicorn_port)
    certs = tmp_path / "etc/nginx/certs"
    subprocess.run(  # noqa: S603 - the machine's openssl
        [
            *[openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"],
            *["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
            *["-keyout", str(certs / "privkey.pem"), "-out", str(certs / "fullchain.pem")],
        ],
        check=True,
        capture_output=True,
    )
    site = files["/etc/nginx/stepwise/site.conf"]
    if _nginx_version(nginx_binary) < (1, 25, 1):
        _edit(site, "http2 on;", "")  # older nginx (Debian 12's) has no such directive
    plain_port, tls_port = free_port(), free_port()
    _edit(site, "listen 80 default_server;", f"listen 127.0.0.1:{plain_port} default_server;")
    _edit(site, "listen 443 ssl", f"listen 127.0.0.1:{tls_port} ssl")

    with _nginx(nginx_binary, tmp_path, plain_port):
        # Then pages over plain HTTP are redirected to https, health checks are answered
        conn = http.client.HTTPConnection("127.0.0.1", plain_port, timeout=5)
        conn.request("GET", "/tracks/?level=beginner")
        redirect = conn.getresponse()
        assert redirect.status == 301
        assert redirect.getheader("Location") == "https://127.0.0.1/tracks/?level=beginner"
        assert _get(plain_port, "/healthz", timeout=5)[0] == 200
        # And the app answers over TLS
        context = ssl.create_default_context(cafile=str(certs / "fullchain.pem"))
        tls = http.client.HTTPSConnection("127.0.0.1", tls_port, timeout=5, context=context)
        tls.request("GET", "/healthz")
        assert tls.getresponse().status == 200


def _size_in_bytes(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([kKmM]?)", value).groups()  # type: ignore[union-attr]
    return int(number) * {"": 1, "k": 1024, "m": 1024 * 1024}[unit.lower()]


def test_nginx_body_limit_is_djangos():
    conf = (ROOT / "deploy/nginx/stepwise.conf").read_text()
    limit = re.search(r"^client_max_body_size (\S+);", conf, re.MULTILINE)
    assert limit, "stepwise.conf sets no client_max_body_size"
    assert _size_in_bytes(limit.group(1)) == settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def test_nginx_buffers_requests_and_answers_and_drops_slow_clients():
    conf = (ROOT / "deploy/nginx/stepwise.conf").read_text()
    for directive in (
        "proxy_request_buffering on;",
        "proxy_buffering on;",
        "client_header_timeout 10s;",
        "client_body_timeout 10s;",
        "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "proxy_set_header X-Forwarded-Proto $scheme;",
    ):
        assert re.search(rf"^{re.escape(directive)}$", conf, re.MULTILINE), directive


# --- compose -------------------------------------------------------------------------------

APP_SERVICES = ("migrate", "web", "worker", "beat")
# Compose variables with a default: none of them is a secret.
NON_SECRET_DEFAULTS = {"API_NUM_PROXIES", "HTTP_PORT", "HTTPS_PORT", "NGINX_SITE", "TLS_CERTS_DIR"}
REQUIRED = {"SECRET_KEY", "POSTGRES_PASSWORD", "ALLOWED_HOSTS", "SITE_URL"}


def _compose_text() -> str:
    return (ROOT / "docker-compose.yml").read_text()


def _compose() -> dict:
    return yaml.safe_load(_compose_text())


def _compose_variables() -> set[str]:
    return set(re.findall(r"(?<!\$)\$\{([A-Z_0-9]+)", _compose_text()))


def _settings_variables() -> set[str]:
    """Every environment variable config/settings/*.py reads through django-environ."""
    names = set()
    for path in (ROOT / "config" / "settings").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            func, first = node.func, node.args[0]
            reads_env = (isinstance(func, ast.Name) and func.id == "env") or (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and func.value.id == "env"
            )
            if reads_env and isinstance(first, ast.Constant) and isinstance(first.value, str):
                names.add(first.value)
    return names


def _gunicorn_variables() -> set[str]:
    source = (ROOT / "gunicorn.conf.py").read_text()
    return set(re.findall(r"_env(?:_int)?\(\s*[\"']([A-Z_0-9]+)[\"']", source))


def test_compose_runs_the_whole_stack_behind_nginx():
    services = _compose()["services"]
    assert set(services) >= {"postgres", "redis", "nginx", *APP_SERVICES}
    assert re.fullmatch(r"nginx:\d+\.\d+(-alpine)?", services["nginx"]["image"])
    published = {str(port).rsplit(":", 1)[-1] for port in services["nginx"]["ports"]}
    assert published == {"80", "443"}
    # Nothing else faces the network: gunicorn, PostgreSQL and Redis least of all.
    assert [name for name, spec in services.items() if "ports" in spec] == ["nginx"]
    assert services["nginx"]["depends_on"]["web"]["condition"] == "service_healthy"


@pytest.mark.parametrize("service", APP_SERVICES)
def test_compose_app_services_share_one_image_and_production_settings(service):
    spec = _compose()["services"][service]
    assert spec["image"] == "stepwise:latest"
    assert spec["build"] == "."
    assert spec["env_file"] == ".env"
    assert spec["environment"]["DJANGO_SETTINGS_MODULE"] == "config.settings.production"


def test_compose_has_no_default_for_any_secret():
    defaults = set(re.findall(r"\$\{([A-Z_0-9]+):?-", _compose_text()))
    assert defaults <= NON_SECRET_DEFAULTS, f"defaults for {sorted(defaults - NON_SECRET_DEFAULTS)}"
    required = set(re.findall(r"\$\{([A-Z_0-9]+):\?", _compose_text()))
    assert required >= REQUIRED
    postgres = _compose()["services"]["postgres"]["environment"]
    assert postgres["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")


@pytest.mark.parametrize("service", APP_SERVICES)
def test_compose_sets_only_variables_the_settings_read(service):
    environment = _compose()["services"][service]["environment"]
    known = _settings_variables() | _gunicorn_variables() | {"DJANGO_SETTINGS_MODULE"}
    unknown = set(environment) - known
    assert not unknown, f"{service} sets variables nothing reads: {sorted(unknown)}"


def test_compose_mounts_the_repository_nginx_config():
    volumes = _compose()["services"]["nginx"]["volumes"]
    for site in ("https", "http"):
        mounted = {
            target: source
            for source, target in (
                _interpolate(v, {"NGINX_SITE": site}).split(":")[:2] for v in volumes
            )
        }
        assert mounted["/etc/nginx/conf.d/default.conf"] == "./deploy/nginx/stepwise.conf"
        for target, source in mounted.items():
            if target != "/etc/nginx/certs":
                assert (ROOT / source).is_file(), f"{source} (mounted at {target}) is missing"


def test_compose_migrates_once_before_the_app_starts():
    services = _compose()["services"]
    migrating = [name for name, spec in services.items() if "migrate" in str(spec.get("command"))]
    assert migrating == ["migrate"]
    assert services["migrate"]["restart"] == "no"
    for service in ("web", "worker", "beat"):
        condition = services[service]["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully"


def test_compose_runs_exactly_one_beat():
    services = _compose()["services"]
    beats = [name for name, spec in services.items() if " beat" in str(spec.get("command"))]
    assert beats == ["beat"]
    assert services["beat"]["deploy"]["replicas"] == 1


@pytest.mark.parametrize("service", ["postgres", "redis", "web", "worker", "nginx"])
def test_compose_checks_the_health_of(service):
    assert _compose()["services"][service]["healthcheck"]["test"]


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
        assert words[2] in get_commands(), f"no manage.py command {words[2]!r}"
    elif program == "gunicorn":
        assert words[1:3] == ["-c", "gunicorn.conf.py"]
        module, attribute = words[3].split(":")
        assert (ROOT / (module.replace(".", "/") + ".py")).is_file(), words[3]
        assert f"{attribute} =" in (ROOT / (module.replace(".", "/") + ".py")).read_text()
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


# --- .env.example and the README -----------------------------------------------------------


def _env_example() -> dict[str, str]:
    """Every variable .env.example lists, set or commented out, with its value."""
    text = (ROOT / ".env.example").read_text()
    return dict(re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=(.*)$", text, re.MULTILINE))


def test_env_example_lists_every_variable_the_settings_read():
    missing = _settings_variables() - set(_env_example())
    assert not missing, f".env.example does not list {sorted(missing)}"


def test_env_example_lists_only_variables_something_reads():
    known = _settings_variables() | _gunicorn_variables() | _compose_variables()
    unknown = set(_env_example()) - known - {"DJANGO_SETTINGS_MODULE"}
    assert not unknown, f".env.example lists variables nothing reads: {sorted(unknown)}"


def test_env_example_holds_no_secret():
    listed = _env_example()
    assert listed["SECRET_KEY"] == ""
    assert listed["POSTGRES_PASSWORD"] == ""
    assert set(listed) >= REQUIRED


def _readme_configuration_variables() -> set[str]:
    readme = (ROOT / "README.md").read_text()
    return set(re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \|", readme, re.MULTILINE))


def test_every_variable_the_readme_configuration_table_names_is_read():
    named = _readme_configuration_variables()
    known = _settings_variables() | _gunicorn_variables() | _compose_variables()
    assert named >= {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "ALLOWED_HOSTS", "SITE_URL"}
    assert named >= {"WEB_CONCURRENCY", "GUNICORN_THREADS"}
    assert not named - known, f"the README names unread variables: {sorted(named - known)}"
