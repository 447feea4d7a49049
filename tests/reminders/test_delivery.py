from datetime import timedelta
from unittest import mock

import psycopg
import pytest
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from apps.reminders.models import DeliveryStatus, ReminderDelivery
from apps.reminders.services import (
    reminder_deliveries_resume_interrupted,
    reminder_deliveries_send,
    reminders_due_schedule,
)
from apps.reminders.tasks import reminders_send_chunk
from tests.reminders.conftest import study
from tests.reminders.smtp import Recorder, smtp_server
from tests.reminders.test_selection import SEVEN_IST

pytestmark = pytest.mark.django_db


def smtp_settings(port: int):
    return override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=port,
        EMAIL_HOST_USER="",
        EMAIL_HOST_PASSWORD="",
        EMAIL_USE_TLS=False,
        EMAIL_USE_SSL=False,
        EMAIL_TIMEOUT=5,
        SITE_URL="https://stepwise.example",
    )


def test_end_to_end_through_a_real_smtp_server(
    make_learner, track, django_capture_on_commit_callbacks
):
    recorder = Recorder()
    learner = make_learner(timezone="Asia/Kolkata", reminder_hour=7, weekly_goal=4)
    others = [make_learner(timezone="Asia/Kolkata", reminder_hour=7) for _ in range(2)]
    study(learner, track, SEVEN_IST - timedelta(days=9), status="in_progress")

    with (
        smtp_server(recorder) as port,
        smtp_settings(port),
        django_capture_on_commit_callbacks(execute=True),
    ):
        reminders_due_schedule(now=SEVEN_IST)

    # One connection for the chunk of three.
    assert recorder.connections == 1
    assert sorted(m["To"] for m in recorder.messages) == sorted(u.email for u in [learner, *others])
    message = next(m for m in recorder.messages if m["To"] == learner.email)
    # Monday is the last day of the learner's week and they are behind their goal.
    assert message["Subject"] == "You are 4 steps from your weekly goal"
    assert {m["Subject"] for m in recorder.messages if m["To"] != learner.email} == {
        "Your next step in Generative AI"
    }
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url, mailto = (part.strip(" <>") for part in message["List-Unsubscribe"].split(","))
    assert url.startswith("https://stepwise.example/reminders/unsubscribe/")
    assert mailto.startswith("mailto:unsubscribe@stepwise.localhost?subject=unsubscribe%20")
    assert message.is_multipart()
    parts = {part.get_content_type(): part for part in message.walk()}
    text = parts["text/plain"].get_payload(decode=True).decode()
    html = parts["text/html"].get_payload(decode=True).decode()
    for body in (text, html):
        assert "Generative AI" in body
        assert "0% complete (0 of 3 steps)" in body
        assert "Step 1" in body  # the next step
        assert "Course 1" in body  # its first resource
        assert "Weekly goal: 0 of 4 steps" in body
        assert f"https://stepwise.example/tracks/{track.slug}/" in body
        assert "https://stepwise.example/reminders/preferences/" in body
        assert url in body
    assert f'href="{url}"' in html
    assert ReminderDelivery.objects.filter(status=DeliveryStatus.SENT).count() == 3


def test_the_email_shows_a_streak_at_risk(make_learner, track, django_capture_on_commit_callbacks):
    learner = make_learner(timezone="Asia/Kolkata", reminder_frequency="daily", reminder_hour=7)
    # Studied on the two days before, not yet today (IST): a 2-day streak at risk.
    for days_ago, position in ((2, 0), (1, 1)):
        study(learner, track, SEVEN_IST - timedelta(days=days_ago, hours=2), position=position)

    with django_capture_on_commit_callbacks(execute=True):
        reminders_due_schedule(now=SEVEN_IST)

    (message,) = mail.outbox
    assert "Current streak: 2 days. Study today to keep it going." in message.body
    assert "Next step: Step 3" in message.body


def test_failed_sends_are_retried_then_end_failed_with_the_error(
    make_learner, django_capture_on_commit_callbacks
):
    refused = make_learner(timezone="Asia/Kolkata", reminder_hour=7)
    accepted = make_learner(timezone="Asia/Kolkata", reminder_hour=7)
    recorder = Recorder(refuse={refused.email})

    with (
        smtp_server(recorder) as port,
        smtp_settings(port),
        override_settings(REMINDERS_SEND_MAX_ATTEMPTS=3),
        django_capture_on_commit_callbacks(execute=True),
    ):
        reminders_due_schedule(now=SEVEN_IST)

    # Eager tasks run their retries at once: three attempts, three connections.
    assert recorder.connections == 3
    failed = ReminderDelivery.objects.get(user=refused)
    assert (failed.status, failed.attempts) == (DeliveryStatus.FAILED, 3)
    assert "SMTPRecipientsRefused" in failed.error
    assert "Mailbox unavailable" in failed.error
    sent = ReminderDelivery.objects.get(user=accepted)
    assert (sent.status, sent.attempts, sent.error) == (DeliveryStatus.SENT, 1, "")
    assert [m["To"] for m in recorder.messages] == [accepted.email]


def test_a_retry_waits_with_exponential_backoff(make_learner):
    make_learner(timezone="Asia/Kolkata", reminder_hour=7)
    created = reminders_due_schedule(now=SEVEN_IST).created_ids
    recorder = Recorder(refuse={ReminderDelivery.objects.get().user.email})

    with smtp_server(recorder) as port, smtp_settings(port):
        first = reminder_deliveries_send(delivery_ids=created)
        second = reminder_deliveries_send(delivery_ids=created)

    assert first.retry == second.retry == created
    assert second.retry_in == 2 * first.retry_in
    assert ReminderDelivery.objects.get().status == DeliveryStatus.PENDING


def test_an_unreachable_server_is_an_error_on_every_delivery(make_learner):
    make_learner(timezone="Asia/Kolkata", reminder_hour=7)
    created = reminders_due_schedule(now=SEVEN_IST).created_ids
    from tests.reminders.smtp import free_port

    with smtp_settings(free_port()):
        outcome = reminder_deliveries_send(delivery_ids=created)

    assert outcome.retry == created
    assert "ConnectionRefusedError" in ReminderDelivery.objects.get().error


def test_a_duplicated_send_task_sends_once(make_learner):
    make_learner(timezone="Asia/Kolkata", reminder_hour=7)
    created = reminders_due_schedule(now=SEVEN_IST).created_ids

    assert reminders_send_chunk(created) == 1
    assert reminders_send_chunk(created) == 0
    assert len(mail.outbox) == 1


def test_a_delivery_another_worker_holds_is_not_sent(make_learner):
    make_learner(timezone="Asia/Kolkata", reminder_hour=7)
    created = reminders_due_schedule(now=SEVEN_IST).created_ids
    ReminderDelivery.objects.update(status=DeliveryStatus.SENDING, claimed_at=timezone.now())

    assert reminders_send_chunk(created) == 0
    assert mail.outbox == []
    # Still within the other worker's claim: the beat's sweep leaves it alone too.
    assert reminder_deliveries_resume_interrupted() == []
    assert ReminderDelivery.objects.get().status == DeliveryStatus.SENDING


def test_sending_a_chunk_costs_a_bounded_number_of_queries(
    make_learner, track, django_assert_max_num_queries
):
    def chunk_queries(n: int) -> tuple[int, int]:
        ReminderDelivery.objects.all().delete()
        for _ in range(n):
            make_learner(timezone="Asia/Kolkata", reminder_hour=7)
        created = reminders_due_schedule(now=SEVEN_IST).created_ids
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        # On PostgreSQL the per-email updates go through psycopg's own cursor (prepared,
        # bound on the server), which Django's query log does not see: counted here.
        raw_execute = psycopg.Cursor.execute
        raw: list[str] = []

        def counting(cursor, query, *args, **kwargs):
            if type(cursor) is psycopg.Cursor:
                raw.append(str(query))
            return raw_execute(cursor, query, *args, **kwargs)

        with (
            CaptureQueriesContext(connection) as queries,
            mock.patch.object(psycopg.Cursor, "execute", counting),
        ):
            assert len(reminder_deliveries_send(delivery_ids=created).sent) == len(created)
        assert all(query.startswith("UPDATE") for query in raw)
        return len(queries) + len(raw), len(created)

    # 1 claim; 2 claimed rows with users; 3-12 the email contexts (reminder_email_contexts);
    # then one update per email, committed as soon as the server accepted it: that write is
    # what lets a killed worker's chunk be taken over without sending it twice. On
    # PostgreSQL, 2 more: asynchronous commit on, then off again, around those updates.
    from django.db import connection

    around = 2 if connection.vendor == "postgresql" else 0
    for learners_added in (2, 12):
        queries, emails = chunk_queries(learners_added)
        assert queries == 12 + around + emails


def test_the_subject_shows_a_track_title_as_written(
    make_learner, track, django_capture_on_commit_callbacks
):
    track.title = "Tips & <Tricks>"
    track.save(update_fields=["title"])
    make_learner(timezone="Asia/Kolkata", reminder_hour=7)

    with django_capture_on_commit_callbacks(execute=True):
        reminders_due_schedule(now=SEVEN_IST)

    (message,) = mail.outbox
    assert message.subject == "Your next step in Tips & <Tricks>"


def test_a_delivery_is_not_sent_after_the_learner_unsubscribes(make_learner):
    from apps.reminders.services import reminders_unsubscribe

    learner = make_learner(timezone="Asia/Kolkata", reminder_hour=7)
    staying = make_learner(timezone="Asia/Kolkata", reminder_hour=7)
    created = reminders_due_schedule(now=SEVEN_IST).created_ids
    # The learner clicks unsubscribe before the send task runs (or while it waits to retry).
    ReminderDelivery.objects.filter(user=learner).update(attempts=1, error="Timeout")
    reminders_unsubscribe(user=learner)

    assert reminders_send_chunk(created) == 1

    assert [m.to for m in mail.outbox] == [[staying.email]]
    skipped = ReminderDelivery.objects.get(user=learner)
    assert skipped.status == DeliveryStatus.SKIPPED
    assert skipped.error == "Not sent: the learner turned reminders off."
    assert skipped.sent_at is None
    # A re-run of the window neither sends it nor decides it again.
    assert reminders_due_schedule(now=SEVEN_IST).created_ids == []
    assert reminders_send_chunk(created) == 0
    assert len(mail.outbox) == 1


def test_a_test_email_still_goes_to_a_staff_member_with_reminders_off(make_learner):
    from apps.reminders.services import reminder_test_send, reminders_unsubscribe

    staff = make_learner(timezone="Asia/Kolkata", reminder_hour=7)
    reminders_unsubscribe(user=staff)
    delivery = reminder_test_send(user=staff, now=SEVEN_IST)

    assert reminders_send_chunk([delivery.pk]) == 1
    assert [m.to for m in mail.outbox] == [[staff.email]]


def test_deliveries_left_pending_are_sent_by_a_later_beat_exactly_once(
    make_learner, django_capture_on_commit_callbacks, settings
):
    from apps.reminders.tasks import reminders_send_due

    settings.REMINDERS_PENDING_RESEND_MINUTES = 90
    never_enqueued, retry_lost, retry_waiting, fresh = (
        make_learner(timezone="Asia/Kolkata", reminder_hour=7) for _ in range(4)
    )
    # The fan-out after commit failed (broker down): nothing was enqueued.
    reminders_due_schedule(now=SEVEN_IST)
    now = timezone.now()
    rows = ReminderDelivery.objects.all()
    rows.filter(user=never_enqueued).update(created_at=now - timedelta(minutes=91))
    # A worker died after putting a failed send back to pending, before enqueueing the retry.
    rows.filter(user=retry_lost).update(
        created_at=now - timedelta(hours=5), claimed_at=now - timedelta(minutes=91), attempts=1
    )
    # A retry still within its backoff, and a delivery just created: their tasks are coming.
    rows.filter(user=retry_waiting).update(
        created_at=now - timedelta(hours=5), claimed_at=now - timedelta(minutes=60), attempts=1
    )

    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            reminders_send_due()

    assert sorted(m.to[0] for m in mail.outbox) == sorted([never_enqueued.email, retry_lost.email])
    statuses = dict(rows.values_list("user_id", "status"))
    assert statuses == {
        never_enqueued.pk: DeliveryStatus.SENT,
        retry_lost.pk: DeliveryStatus.SENT,
        retry_waiting.pk: DeliveryStatus.PENDING,
        fresh.pk: DeliveryStatus.PENDING,
    }


def test_resending_pending_deliveries_goes_through_send_tasks_in_chunks(
    make_learner, django_capture_on_commit_callbacks, settings
):
    from apps.reminders.services import reminder_deliveries_resend_pending

    settings.REMINDERS_SEND_CHUNK_SIZE = 2
    for _ in range(5):
        make_learner(timezone="Asia/Kolkata", reminder_hour=7)
    created = reminders_due_schedule(now=SEVEN_IST).created_ids
    later = timezone.now() + timedelta(minutes=settings.REMINDERS_PENDING_RESEND_MINUTES + 1)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert reminder_deliveries_resend_pending(now=later) == created
    # Handed out once: the next sweep waits as long again before handing them out again.
    assert reminder_deliveries_resend_pending(now=later) == []
    recorder = Recorder()
    with smtp_server(recorder) as port, smtp_settings(port):
        for callback in callbacks:
            callback()

    # Three send tasks (2 + 2 + 1), one connection each.
    assert recorder.connections == 3
    assert len(recorder.messages) == 5
    assert ReminderDelivery.objects.filter(status=DeliveryStatus.SENT).count() == 5


@pytest.mark.postgres
def test_recording_an_email_sent_reads_only_its_own_row_whatever_the_statistics_say(make_learner):
    """Measured: with 20,000 deliveries in flight, each email's update cost PostgreSQL 1.5 ms
    of CPU: statistics taken while "sending" was rare made the status index look cheaper than
    the primary key, and every update read all the "sending" entries (bench/RESULTS.md)."""
    import json
    import uuid

    from django.db import connection

    from apps.reminders.services import _SENT_SQL

    learner = make_learner()
    ReminderDelivery.objects.bulk_create(
        ReminderDelivery(
            user=learner, kind="reminder", window=f"w{n}", due_at=SEVEN_IST, status="sent"
        )
        for n in range(3000)
    )
    claim = uuid.uuid4()
    with connection.cursor() as cursor:
        # The statistics of a table whose deliveries have all gone out, as it mostly is.
        cursor.execute(f"ANALYZE {ReminderDelivery._meta.db_table}")
        # Then a big window's deliveries are claimed and sent.
        ReminderDelivery.objects.update(status=DeliveryStatus.SENDING, claim_id=claim)
        pk = ReminderDelivery.objects.order_by("pk").values_list("pk", flat=True)[1500]
        cursor.execute(
            f"EXPLAIN (ANALYZE, FORMAT JSON) {_SENT_SQL}",
            [DeliveryStatus.SENT.value, timezone.now(), pk, claim],
        )
        plan = cursor.fetchone()[0]
    scan = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]["Plans"][0]
    assert scan["Node Type"] == "Index Scan"
    assert scan["Index Name"] == f"{ReminderDelivery._meta.db_table}_pkey"
    assert scan.get("Rows Removed by Filter", 0) == 0
    assert ReminderDelivery.objects.get(pk=pk).status == DeliveryStatus.SENT
