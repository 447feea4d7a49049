"""A reminder run through a real Redis broker and a Celery worker subprocess."""

import asyncio
from dataclasses import dataclass, field

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.core.models import OutboxMessage
from apps.core.outbox import outbox_relay
from apps.reminders.models import DeliveryKind, DeliveryStatus, ReminderDelivery
from tests.broker import publishing_to, within
from tests.celery_worker import celery_worker
from tests.production import own_redis
from tests.reminders.smtp import Recorder, smtp_server
from tests.reminders.test_selection import SEVEN_IST


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_beat_task_runs_on_a_worker_through_redis(make_learner, worker_redis_db):
    learners = [make_learner(timezone="Asia/Kolkata", reminder_hour=7) for _ in range(3)]
    recorder = Recorder()

    def all_sent() -> bool:
        sent = ReminderDelivery.objects.filter(status=DeliveryStatus.SENT).count()
        return sent == len(learners) and recorder.received == len(learners)

    with (
        smtp_server(recorder) as port,
        celery_worker(
            redis_db=worker_redis_db, env={"EMAIL_URL": f"smtp://127.0.0.1:{port}"}
        ) as worker,
    ):
        # The beat task, for the Done-when moment: Monday 07:00 in Asia/Kolkata; twice.
        worker.sender.send_task("reminders.send_due", args=[SEVEN_IST.isoformat()])
        worker.sender.send_task("reminders.send_due", args=[SEVEN_IST.isoformat()])
        worker.wait_until(all_sent)

    log = worker.log
    assert ReminderDelivery.objects.filter(status=DeliveryStatus.SENT).count() == 3, log
    assert sorted(m["To"] for m in recorder.messages) == sorted(u.email for u in learners), log


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_test_reminder_asked_for_while_the_broker_is_down_goes_out_once_it_is_back(
    client, make_learner, worker_redis_db
):
    staff = make_learner(timezone="Asia/Kolkata", reminder_hour=7)
    staff.is_staff = True
    staff.save(update_fields=["is_staff"])
    client.force_login(staff)
    recorder = Recorder()

    with own_redis() as redis, publishing_to(redis.url):
        # Given the broker down, staff asking for a test reminder are answered as usual.
        redis.stop()
        response = within(
            5, lambda: client.post(reverse("admin:reminders_reminderdelivery_send_test"))
        )
        assert response.status_code == 302
        assert ReminderDelivery.objects.get().status == DeliveryStatus.PENDING
        assert OutboxMessage.objects.filter(sent_at__isnull=True).count() == 1

        # When the broker is back, the relay hands the send to a worker.
        redis.start()
        with (
            smtp_server(recorder) as port,
            celery_worker(
                redis_db=worker_redis_db,
                env={"REDIS_URL": redis.url, "EMAIL_URL": f"smtp://127.0.0.1:{port}"},
            ) as worker,
        ):
            OutboxMessage.objects.update(available_at=timezone.now())  # the backoff is over
            assert outbox_relay().sent == 1
            worker.wait_until(lambda: recorder.received >= 1)

    # Then the email goes out, once.
    assert [m["To"] for m in recorder.messages] == [staff.email], worker.log
    assert ReminderDelivery.objects.get().status == DeliveryStatus.SENT


@dataclass
class SlowRecorder(Recorder):
    """Takes its time over the messages to ``slow`` recipients."""

    slow: set[str] = field(default_factory=set)

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.slow & set(envelope.rcpt_tos):
            await asyncio.sleep(5)
        return await super().handle_DATA(server, session, envelope)


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_send_task_out_of_time_records_what_went_out_and_hands_the_rest_back(
    make_learner, worker_redis_db
):
    learners = [make_learner(timezone="Asia/Kolkata", reminder_hour=7) for _ in range(3)]
    now = timezone.now()
    deliveries = [
        ReminderDelivery.objects.create(
            user=learner, kind=DeliveryKind.TEST, window=now.isoformat(), due_at=now
        ).pk
        for learner in learners
    ]
    # The second message keeps the mail server busy past the task's soft time limit.
    recorder = SlowRecorder(slow={learners[1].email})

    def settled() -> bool:
        return not ReminderDelivery.objects.filter(status=DeliveryStatus.SENDING).exists()

    env = {"CELERY_TASK_SOFT_TIME_LIMIT": "2", "CELERY_TASK_TIME_LIMIT": "20"}
    with smtp_server(recorder) as port:
        env["EMAIL_URL"] = f"smtp://127.0.0.1:{port}"
        # Time limits need the prefork pool (the one a worker runs by default).
        with celery_worker(redis_db=worker_redis_db, env=env, pool="prefork") as worker:
            worker.sender.send_task("reminders.send_chunk", args=[deliveries])
            worker.wait_until(lambda: recorder.received >= 1 and settled())

    rows = {d.pk: d for d in ReminderDelivery.objects.all()}
    first, second, third = (rows[pk] for pk in deliveries)
    assert first.status == DeliveryStatus.SENT, worker.log
    # Not left "sending" (to be failed later as interrupted): back to pending for a retry.
    assert [second.status, third.status] == [DeliveryStatus.PENDING] * 2, worker.log
    assert second.error == third.error == "Not sent: the send task reached its time limit first."
