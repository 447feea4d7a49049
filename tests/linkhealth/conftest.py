import socket

import pytest

from apps.linkhealth.checker import CheckerConfig
from tests.linkhealth.farm import Farm

REAL_GETADDRINFO = socket.getaddrinfo


@pytest.fixture
def farm():
    server = Farm().start()
    yield server
    server.stop()


@pytest.fixture
def link_settings(settings):
    """Let the checker reach the local farm, and keep every wait short."""
    settings.LINK_CHECK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    settings.LINK_CHECK_TIMEOUT_SECONDS = 1.0
    settings.LINK_CHECK_CONNECT_TIMEOUT_SECONDS = 1.0
    settings.LINK_CHECK_BACKOFF_SECONDS = 0.01
    settings.LINK_CHECK_RETRY_AFTER_CAP_SECONDS = 0.2
    settings.LINK_CHECK_HOST_INTERVAL_SECONDS = 0.0
    settings.LINK_CHECK_SLOWED_HOST_INTERVAL_SECONDS = 0.05
    settings.LINK_CHECK_GET_ONLY_HOSTS = []
    settings.LINK_CHECK_YOUTUBE_HOSTS = ["www.youtube.com"]
    settings.LINK_CHECK_COURSERA_HOSTS = ["www.coursera.org"]
    settings.LINK_CHECK_UDEMY_HOSTS = ["www.udemy.com"]
    return settings


@pytest.fixture
def config(link_settings):
    return CheckerConfig.from_settings()


@pytest.fixture
def fake_dns(monkeypatch):
    """The edge of the outside world: names the tests invent resolve as told here."""
    names: dict[str, str | None] = {}

    def getaddrinfo(host, port, *args, **kwargs):
        if host in names:
            address = names[host]
            if address is None:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            return [(family, socket.SOCK_STREAM, 6, "", (address, port))]
        return REAL_GETADDRINFO(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return names
