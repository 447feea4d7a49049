"""Every route answers odd requests with a client error, never a server error: each URL the
project (and the apps it includes) routes, with made-up arguments, under each method, with
empty, wrong-shaped and junk bodies and query strings, as a stranger, a learner and staff."""

import itertools
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

_ARGUMENT = re.compile(r"<(?:(\w+):)?(\w+)>")
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


def _learner_with_everything(step) -> tuple[User, dict[str, str]]:
    """A learner with a step done, a note, a bulk action, a public page, a calendar feed and
    reminder links; and the route arguments that reach those objects."""
    from apps.learning.calendar import calendar_feed_issue
    from apps.learning.models import PublicProfile
    from apps.progress.models import BulkAction
    from apps.progress.services import step_note_set, track_bulk_set
    from apps.reminders.tokens import KEEP_ON_SALT, UNSUBSCRIBE_SALT, token_make
    from tests.factories import ResourceFactory, StepResourceFactory

    learner = UserFactory()
    step_status_set(user=learner, step=step, status=Status.DONE)
    step_note_set(user=learner, step=step, body="A *note*", links=["https://example.org/"])
    action = track_bulk_set(user=learner, track=step.track, kind=BulkAction.Kind.MARK_DONE)
    profile = PublicProfile.objects.create(user=learner, handle="ada", is_public=True)
    profile.tracks.add(step.track)
    resource = ResourceFactory()
    StepResourceFactory(step=step, resource=resource)
    return learner, {
        "step_id": str(step.pk),
        "resource_id": str(resource.pk),
        "slug": step.track.slug,
        "track": step.track.slug,
        "key": step.key,
        "handle": profile.handle,
        "kind": BulkAction.Kind.RESET,
        "table": "steps",
        "action_id": str(action.action.pk),
        "token": calendar_feed_issue(user=learner),
        "unsubscribe": token_make(user_id=learner.pk, salt=UNSUBSCRIBE_SALT),
        "keep-on": token_make(user_id=learner.pk, salt=KEEP_ON_SALT),
    }


def _url(route: str, arguments: dict[str, str]) -> str:
    def argument(match: re.Match[str]) -> str:
        if match.group(2) == "token" and route.startswith("reminders/"):
            return arguments[route.split("/")[1]]  # each reminder link has its own signature
        return arguments.get(match.group(2), "x")

    return "/" + _ARGUMENT.sub(argument, route)


def test_no_route_answers_a_server_error():
    """Each route's arguments name real objects (the learner's own), so the odd requests
    reach the views' work, not only their 404s; then made-up ones, which must 404."""
    step = StepFactory()
    learner, real = _learner_with_everything(step)
    staff = UserFactory(is_staff=True, is_superuser=True)
    made_up = dict.fromkeys(real, "999999") | {
        "slug": "no-such-track",
        "action_id": str(uuid.uuid4()),
    }
    routes = sorted(set(_routes()))
    failures = []

    for who in (None, learner, staff):
        client = Client(raise_request_exception=False)
        for route in routes:
            urls = {_url(route, real), _url(route, made_up)}
            for url, (method, kwargs) in itertools.product(sorted(urls), REQUESTS):
                if who is not None:
                    client.force_login(who)  # again: an earlier request may have signed out
                response = getattr(client, method)(url, **kwargs)
                if response.status_code >= 500:
                    failures.append((who and who.email, method, kwargs, url, response.status_code))

    assert len(routes) > 100
    assert failures == []
    # Junk never deleted an account (deleting one asks for the password).
    assert set(User.objects.filter(pk__in=[learner.pk, staff.pk])) == {learner, staff}


#: Query strings a curator's bookmark, a typo or a crawler could send to an admin list.
ADMIN_LIST_QUERIES = [
    {},
    {"q": "\x00 ' \" %"},
    {"o": "zz.-x.99"},
    {"p": "abc"},
    {"p": "999999"},
    {"all": ""},
    {"e": "1"},
    {"_to_field": "password"},
    {"no_such_field__exact": "1"},
    {"id__in": "a,b"},
    {"status": "\x00", "kind": "nope", "outcome": "nope", "is_staff__exact": "maybe"},
    {"created_at__gte": "not-a-date", "due_at__lt": "2026-13-45"},
]


def test_no_admin_page_answers_a_server_error():
    """The admin is left out above (its routes are regular expressions): here every model
    registered gets its list with odd query strings, and its add, change, delete and history
    pages under GET and a junk POST, for an object that exists and one that does not."""
    from django.contrib import admin

    step = StepFactory()
    learner = UserFactory()
    staff = UserFactory(is_staff=True, is_superuser=True)
    step_status_set(user=learner, step=step, status=Status.DONE)
    client = Client(raise_request_exception=False)
    client.force_login(staff)
    failures = []

    def visit(method: str, url: str, **kwargs) -> None:
        response = getattr(client, method)(url, **kwargs)
        if response.status_code >= 500:
            failures.append((method, url, kwargs, response.status_code))

    for model in admin.site._registry:
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        for query in ADMIN_LIST_QUERIES:
            visit("get", base, data=query)
        # Rows another curator deleted meanwhile. (A key that is not a number answers 500:
        # Django's own admin, which no form of it sends.)
        visit("post", base, data={"action": "delete_selected", "_selected_action": ["999999"]})
        visit("post", base, data={"action": "no_such_action", "index": "0"})
        visit("get", base + "add/")
        visit("post", base + "add/", data={"junk": "\x00"})
        existing = model._default_manager.order_by("pk").values_list("pk", flat=True).first()
        for pk in [existing, "999999", "not-a-key"]:
            if pk is None:
                continue
            for page in ("change/", "delete/", "history/"):
                visit("get", f"{base}{pk}/{page}")
            visit("post", f"{base}{pk}/change/", data={"junk": "\x00"})

    assert len(admin.site._registry) > 20
    assert failures == []
