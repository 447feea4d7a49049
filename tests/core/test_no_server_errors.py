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


def _admin_routes() -> Iterator[str]:
    """The admin's routes written with converters: the models' own pages and extra ones."""
    for entry in get_resolver().url_patterns:
        if isinstance(entry, URLResolver) and str(entry.pattern) == "admin/":
            yield from (f"admin/{route}" for route in _routes(entry) if not route.startswith("^"))


def test_no_admin_page_answers_a_server_error():
    """The admin is left out above: here every model registered gets its list with odd query
    strings, each of its actions on a row that exists and on one that does not, its add,
    change, delete and history pages (and any page of its own) under GET and a junk POST,
    for an object that exists and one that does not; and the admin's index pages."""
    from django.contrib import admin
    from django.contrib.contenttypes.models import ContentType
    from django.test import RequestFactory

    from apps.reminders.models import ReminderDelivery

    step = StepFactory()
    learner, _ = _learner_with_everything(step)
    ReminderDelivery.objects.create(
        user=learner, kind="reminder", window="2026-11-28", due_at=step.track.created_at
    )
    staff = UserFactory(is_staff=True, is_superuser=True)
    client = Client(raise_request_exception=False)
    client.force_login(staff)
    as_staff = RequestFactory().get("/admin/")
    as_staff.user = staff
    failures = []

    def visit(method: str, url: str, **kwargs) -> None:
        response = getattr(client, method)(url, **kwargs)
        if response.status_code >= 500:
            failures.append((method, url, kwargs, response.status_code))

    visit("get", "/admin/")
    for app_label in {model._meta.app_label for model in admin.site._registry}:
        visit("get", f"/admin/{app_label}/")
    track_type = ContentType.objects.get_for_model(step.track)
    visit("get", f"/admin/r/{track_type.pk}/{step.track.pk}/")
    routes = list(_admin_routes())
    for model, model_admin in admin.site._registry.items():
        base = f"admin/{model._meta.app_label}/{model._meta.model_name}/"
        existing = model._default_manager.order_by("pk").values_list("pk", flat=True).first()
        for query in ADMIN_LIST_QUERIES:
            visit("get", f"/{base}", data=query)
        # Each action on a row that exists, and on one another curator deleted meanwhile.
        # (A key that is not a number answers 500: Django's own admin, which no form of it
        # sends.)
        for action in [*model_admin.get_actions(as_staff), "no_such_action"]:
            for pk in [existing, "999999"]:
                if pk is not None:
                    data = {"action": action, "_selected_action": [str(pk)], "index": "0"}
                    visit("post", f"/{base}", data=data)
        # The model's pages, its own extra ones included, for a row that exists and not.
        own = [r for r in routes if r.startswith(base) and r != base]
        # Deleting last: a POST to a delete page deletes, whatever it carries.
        for route in sorted(own, key=lambda r: r.endswith("/delete/")):
            keys = [pk for pk in (existing, "999999", "not-a-key") if pk is not None]
            urls = {"/" + _ARGUMENT.sub(lambda _, pk=pk: str(pk), route) for pk in keys}
            for url in sorted(urls):
                visit("get", url)
                visit("post", url, data={"junk": "\x00"})

    assert len(admin.site._registry) > 20
    assert failures == []
    assert client.get("/admin/").status_code == 200  # still signed in: the sweep ran as staff
