"""``manage.py check_links`` and the daily digest (locmem and a real SMTP server)."""

import contextlib
import json
import socket
from datetime import timedelta
from io import StringIO

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from apps.linkhealth import tasks
from apps.linkhealth.models import (
    LinkCheck,
    LinkDigest,
    LinkDigestSubscription,
    ResourceHealth,
)
from apps.linkhealth.outcomes import Outcome
from apps.linkhealth.services import link_digest_send
from tests.factories import ResourceFactory, UserFactory

pytestmark = pytest.mark.django_db


def _table(out: str) -> dict[str, int]:
    rows = (line.split() for line in out.splitlines())
    return {row[0]: int(row[1]) for row in rows if len(row) == 2 and row[1].isdigit()}


def _command(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("check_links", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_url_json_prints_one_object_and_saves_nothing(farm, link_settings):
    farm.route("/new")
    url = farm.route("/old", status=301, headers={"Location": "/new"})

    out, _ = _command("--url", url, "--json")

    data = json.loads(out)
    assert data["url"] == url
    assert data["outcome"] == "moved"
    assert data["status_code"] == 200
    assert data["final_url"] == farm.url("/new")
    assert data["redirects"] == 1
    assert isinstance(data["elapsed_ms"], int)
    assert data["detail"].startswith("permanently redirected")
    assert not LinkCheck.objects.exists()


def test_url_json_refuses_unsafe_urls(link_settings):
    out, _ = _command("--url", "http://169.254.169.254/latest/meta-data", "--json")

    assert json.loads(out)["outcome"] == "refused"


def test_due_links_are_checked_with_progress_and_a_summary(farm, link_settings):
    ok = ResourceFactory(url=farm.route("/ok"))
    gone = ResourceFactory(url=farm.route("/gone", status=404))
    fresh = ResourceFactory(url=farm.route("/fresh"))
    ResourceHealth.objects.create(
        resource=fresh, last_outcome="ok", health=Outcome.OK, last_checked_at=timezone.now()
    )

    out, err = _command()

    assert "2/2" in err  # the progress bar
    table = _table(out)
    assert (table["ok"], table["broken"], table["moved"], table["total"]) == (1, 1, 0, 2)
    assert any(gone.url in line for line in out.splitlines())
    assert farm.hit_count("/fresh") == 0
    assert LinkCheck.objects.filter(resource__in=[ok, gone]).count() == 2


def test_all_checks_every_link(farm, link_settings):
    fresh = ResourceFactory(url=farm.route("/fresh"))
    ResourceHealth.objects.create(
        resource=fresh, last_outcome="ok", health=Outcome.OK, last_checked_at=timezone.now()
    )

    out, _ = _command("--all")

    assert _table(out)["total"] == 1
    assert farm.hit_count("/fresh") == 1


# --- digest ------------------------------------------------------------------------------


def _subscribe(**user):
    staff = UserFactory(is_staff=True, **user)
    LinkDigestSubscription.objects.create(user=staff)
    return staff


def test_digest_lists_newly_broken_and_moved_to_subscribers_only(
    django_capture_on_commit_callbacks,
):
    subscriber = _subscribe()
    UserFactory(is_staff=True)  # staff who did not opt in
    former = _subscribe()
    former.is_staff = False
    former.save()
    now = timezone.now()
    broken = ResourceFactory(title="Vanished course")
    ResourceHealth.objects.create(
        resource=broken, health=Outcome.BROKEN, health_changed_at=now, last_detail="HTTP 404"
    )
    moved = ResourceFactory(title="Relocated book")
    ResourceHealth.objects.create(
        resource=moved,
        health=Outcome.MOVED,
        health_changed_at=now,
        suggested_url="https://new.example/book",
    )

    with django_capture_on_commit_callbacks(execute=True):
        digest = link_digest_send()

    assert digest is not None
    assert [m.to for m in mail.outbox] == [[subscriber.email]]
    body = mail.outbox[0].body
    assert "Vanished course" in body and "HTTP 404" in body
    assert "Relocated book" in body and "https://new.example/book" in body
    assert "1 newly broken, 1 moved" in mail.outbox[0].subject


def test_digest_sends_nothing_when_nothing_is_new():
    _subscribe()
    old = ResourceFactory()
    ResourceHealth.objects.create(
        resource=old, health=Outcome.BROKEN, health_changed_at=timezone.now() - timedelta(days=3)
    )
    LinkDigest.objects.create(sent_at=timezone.now() - timedelta(days=1))

    assert link_digest_send() is None
    assert mail.outbox == []


def test_second_digest_only_has_what_is_new_since_the_first(django_capture_on_commit_callbacks):
    _subscribe()
    first = ResourceFactory(title="First casualty")
    ResourceHealth.objects.create(
        resource=first, health=Outcome.BROKEN, health_changed_at=timezone.now()
    )
    with django_capture_on_commit_callbacks(execute=True):
        link_digest_send()
    second = ResourceFactory(title="Second casualty")
    later = timezone.now() + timedelta(seconds=1)
    ResourceHealth.objects.create(resource=second, health=Outcome.BROKEN, health_changed_at=later)

    with django_capture_on_commit_callbacks(execute=True):  # the next day's digest
        link_digest_send(now=later + timedelta(days=1))

    assert len(mail.outbox) == 2
    assert "Second casualty" in mail.outbox[1].body
    assert "First casualty" not in mail.outbox[1].body


def test_running_the_digest_twice_on_one_day_sends_one_email_per_subscriber(
    django_capture_on_commit_callbacks,
):
    first, second = _subscribe(), _subscribe()
    ResourceHealth.objects.create(
        resource=ResourceFactory(), health=Outcome.BROKEN, health_changed_at=timezone.now()
    )

    for _ in range(2):  # a duplicate delivery of the daily task
        with django_capture_on_commit_callbacks(execute=True):
            tasks.link_digest_send.apply()

    assert sorted(m.to[0] for m in mail.outbox) == sorted([first.email, second.email])
    digest = LinkDigest.objects.get()
    assert (digest.recipients, digest.delivered, digest.failures) == (2, 2, [])


def test_a_refused_recipient_is_recorded_and_a_retry_sends_nothing_again(
    settings, django_capture_on_commit_callbacks
):
    refused = _subscribe(email="gone@example.org")
    kept = _subscribe(email="here@example.org")
    ResourceHealth.objects.create(
        resource=ResourceFactory(), health=Outcome.BROKEN, health_changed_at=timezone.now()
    )
    received = []

    class Inbox(Message):
        async def handle_RCPT(self, server, session, envelope, address, options):
            if address == refused.email:
                return "550 no such mailbox"
            envelope.rcpt_tos.append(address)
            return "250 OK"

        def handle_message(self, message):
            received.append(message)

    with _smtp_server(settings, Inbox()):
        for _ in range(2):  # the task retried after the partial failure
            with django_capture_on_commit_callbacks(execute=True):
                tasks.link_digest_send.apply()

    assert [m["To"] for m in received] == [kept.email]
    digest = LinkDigest.objects.get()
    assert digest.delivered == 1
    assert [f["to"] for f in digest.failures] == [refused.email]


@contextlib.contextmanager
def _smtp_server(settings, handler):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = port
        settings.EMAIL_USE_TLS = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        yield
    finally:
        controller.stop()


def test_digest_goes_through_a_real_smtp_server(settings, django_capture_on_commit_callbacks):
    received = []

    class Inbox(Message):
        def handle_message(self, message):
            received.append(message)

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Inbox(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = port
        settings.EMAIL_USE_TLS = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        staff = _subscribe()
        ResourceHealth.objects.create(
            resource=ResourceFactory(title="Gone paper"),
            health=Outcome.BROKEN,
            health_changed_at=timezone.now(),
        )

        with django_capture_on_commit_callbacks(execute=True):
            link_digest_send()
    finally:
        controller.stop()

    assert len(received) == 1
    assert received[0]["To"] == staff.email
    assert "Link health" in received[0]["Subject"]
