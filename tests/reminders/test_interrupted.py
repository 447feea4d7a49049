"""A send interrupted half-way (a worker killed): what went out stays recorded, the rest is
sent later, and nothing goes out twice but the one message in flight."""

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta

import psycopg
import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from apps.reminders.models import DeliveryKind, DeliveryStatus, ReminderDelivery
from apps.reminders.services import (
    reminder_deliveries_resume_interrupted,
    reminder_deliveries_send,
)
from tests.reminders.smtp import Recorder, smtp_server
from tests.reminders.test_delivery import smtp_settings


def test_deliveries(learners) -> list[int]:
    now = timezone.now()
    return [
        ReminderDelivery.objects.create(
            user=learner, kind=DeliveryKind.TEST, window=now.isoformat(), due_at=now
        ).pk
        for learner in learners
    ]


test_deliveries.__test__ = False  # type: ignore[attr-defined]


@dataclass
class WatchingRecorder(Recorder):
    """At each message, reads from the database (its own connection, so only what is
    committed) which deliveries are recorded sent."""

    dsn: str = ""
    sent_seen: list[set[int]] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope) -> str:
        self.sent_seen.append(await asyncio.to_thread(self._committed_sent))
        return await super().handle_DATA(server, session, envelope)

    def _committed_sent(self) -> set[int]:
        with psycopg.connect(self.dsn) as db:
            rows = db.execute(
                f"SELECT id FROM {ReminderDelivery._meta.db_table} WHERE status = 'sent'"  # noqa: S608
            ).fetchall()
        return {pk for (pk,) in rows}


def dsn() -> str:
    db = connection.settings_dict
    return psycopg.conninfo.make_conninfo(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"] or "postgres",
        password=db["PASSWORD"] or None,
        dbname=db["NAME"],
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_each_email_is_committed_as_sent_before_the_next_goes_out(make_learner):
    learners = [make_learner() for _ in range(4)]
    deliveries = test_deliveries(learners)
    recorder = WatchingRecorder(dsn=dsn())

    with smtp_server(recorder) as port, smtp_settings(port):
        outcome = reminder_deliveries_send(delivery_ids=deliveries)

    assert outcome.sent == deliveries
    # When the server takes message n, the n-1 before it are already committed as sent:
    # a worker killed now leaves only the one in flight to be sent again.
    assert recorder.sent_seen == [set(deliveries[:n]) for n in range(4)]


@pytest.mark.django_db
def test_deliveries_a_lost_worker_left_sending_are_sent_again_and_sent_ones_stay_sent(
    make_learner, django_capture_on_commit_callbacks
):
    learners = [make_learner() for _ in range(3)]
    delivered, in_flight, never_tried = test_deliveries(learners)
    claimed = timezone.now() - timedelta(minutes=31)
    # A worker was killed half-way through the chunk: the first email had gone out and was
    # recorded; the second was on the wire; the third never tried.
    rows = ReminderDelivery.objects.all()
    rows.update(status=DeliveryStatus.SENDING, claimed_at=claimed, attempts=1)
    rows.filter(pk=delivered).update(status=DeliveryStatus.SENT, sent_at=claimed)
    recorder = Recorder()

    with (
        smtp_server(recorder) as port,
        smtp_settings(port),
        django_capture_on_commit_callbacks(execute=True),
    ):
        # The beat's sweep, once the dead worker's claim has lapsed (30 minutes).
        assert reminder_deliveries_resume_interrupted() == [in_flight, never_tried]

    statuses = dict(ReminderDelivery.objects.values_list("pk", "status"))
    assert statuses == dict.fromkeys((delivered, in_flight, never_tried), DeliveryStatus.SENT)
    # The delivered one is not sent again; the other two go out now.
    assert sorted(m["To"] for m in recorder.messages) == sorted(
        learner.email for learner in learners[1:]
    )
    assert ReminderDelivery.objects.get(pk=in_flight).attempts == 2


@pytest.mark.django_db
def test_a_delivery_interrupted_on_every_attempt_ends_failed_unsent(make_learner, settings):
    settings.REMINDERS_SEND_MAX_ATTEMPTS = 3
    (delivery,) = test_deliveries([make_learner()])
    ReminderDelivery.objects.update(
        status=DeliveryStatus.SENDING,
        claimed_at=timezone.now() - timedelta(minutes=31),
        attempts=3,
    )
    recorder = Recorder()

    with smtp_server(recorder) as port, smtp_settings(port):
        outcome = reminder_deliveries_send(delivery_ids=[delivery])

    assert outcome.sent == []
    failed = ReminderDelivery.objects.get()
    assert failed.status == DeliveryStatus.FAILED
    assert failed.error == "Interrupted while sending (worker lost) on every attempt."
    assert recorder.received == 0


@dataclass
class SlowRecorder(Recorder):
    seconds: float = 0.4

    async def handle_DATA(self, server, session, envelope) -> str:
        await asyncio.sleep(self.seconds)
        return await super().handle_DATA(server, session, envelope)


@pytest.mark.django_db
def test_a_send_stops_at_half_its_claim_and_hands_the_rest_back(make_learner):
    deliveries = test_deliveries([make_learner() for _ in range(5)])
    recorder = SlowRecorder(seconds=0.4)

    # A claim of 2 s: the run sends for 1 s at most, so it never outlives its claim.
    with (
        smtp_server(recorder) as port,
        smtp_settings(port),
        override_settings(REMINDERS_SENDING_STALE_MINUTES=2 / 60),
    ):
        outcome = reminder_deliveries_send(delivery_ids=deliveries)

    sent = len(outcome.sent)
    assert 1 <= sent <= 3
    assert recorder.received == sent
    assert outcome.retry == deliveries[sent:]
    rest = ReminderDelivery.objects.filter(pk__in=deliveries[sent:])
    assert set(rest.values_list("status", flat=True)) == {DeliveryStatus.PENDING}
    assert rest.first().error == "Not sent: the send task ran past half its claim; handed back."


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_send_leaves_the_database_session_committing_durably_again(make_learner):
    deliveries = test_deliveries([make_learner() for _ in range(2)])
    recorder = Recorder()

    with smtp_server(recorder) as port, smtp_settings(port):
        assert len(reminder_deliveries_send(delivery_ids=deliveries).sent) == 2

    # Whatever the connection does next (another task on the same worker) commits durably.
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone() == ("on",)
