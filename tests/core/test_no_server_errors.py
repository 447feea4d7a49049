"""Every route answers odd requests with a client error, never a server error: each URL the
project (and the apps it includes) routes, with made-up arguments, under each method, with
empty, wrong-shaped and junk bodies and query strings, as a stranger, a learner and staff."""

import re
import uuid
from collections.abc import Iterator

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from apps.accounts.models import User
from apps.progress.models import Status
from apps.progress.services import step_status_set
from tests.factories import StepFactory, UserFactory

pytestmark = pytest.mark.django_db

_ARGUMENT = re.compile(r"<(?:(\w+):)?\w+>")
_JSON = "application/json"
#: (method, keyword arguments for the test client's method)
REQUESTS = [
    ("get", {}),
    ("get", {"data": {"page": "abc", "cursor": "zz", "since": "not-a-date", "q": "\x00"}}),
    ("post", {}),
    ("post", {"data": "{}", "content_type": _JSON}),
    ("post", {"data": "[1]", "content_type": _JSON}),
    ("post", {"data": "{not json", "content_type": _JSON}),
    ("put", {"data": '{"x": 1}', "content_type": _JSON}),
    ("patch", {"data": "null", "content_type": _JSON}),
    ("delete", {}),
]


def _routes(resolver: URLResolver | None = None, prefix: str = "") -> Iterator[str]:
    for entry in (resolver or get_resolver()).url_patterns:
        pattern = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _routes(entry, pattern)
        elif isinstance(entry, URLPattern) and not pattern.startswith(("^", "admin/")):
            yield pattern  # regular expressions (static files, admin's catch-all) left out


def test_no_route_answers_a_server_error():
    step = StepFactory()
    learner = UserFactory()
    staff = UserFactory(is_staff=True, is_superuser=True)
    step_status_set(user=learner, step=step, status=Status.DONE)
    arguments = {"int": str(step.pk), "slug": step.track.slug, "uuid": str(uuid.uuid4())}
    routes = sorted(set(_routes()))
    failures = []

    for who in (None, learner, staff):
        client = Client(raise_request_exception=False)
        for route in routes:
            url = "/" + _ARGUMENT.sub(lambda m: arguments.get(m.group(1) or "", "x"), route)
            for method, kwargs in REQUESTS:
                if who is not None:
                    client.force_login(who)  # again: an earlier request may have signed out
                response = getattr(client, method)(url, **kwargs)
                if response.status_code >= 500:
                    failures.append((who and who.email, method, kwargs, url, response.status_code))

    assert len(routes) > 100
    assert failures == []
    # Junk never deleted an account (deleting one asks for the password).
    assert set(User.objects.filter(pk__in=[learner.pk, staff.pk])) == {learner, staff}
