"""A reminder run through a real Redis broker and a Celery worker subprocess."""

import pytest

from apps.reminders.models import DeliveryStatus, ReminderDelivery
from tests.celery_worker import celery_worker
from tests.reminders.smtp import Recorder, smtp_server
from tests.reminders.test_selection import SEVEN_IST

# Reminders' own Redis database, so other suites' workers never take these tasks.
REDIS_DB = 6


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_beat_task_runs_on_a_worker_through_redis(make_learner):
    learners = [make_learner(timezone="Asia/Kolkata", reminder_hour=7) for _ in range(3)]
    recorder = Recorder()

    def all_sent() -> bool:
        sent = ReminderDelivery.objects.filter(status=DeliveryStatus.SENT).count()
        return sent == len(learners) and recorder.received == len(learners)

    with (
        smtp_server(recorder) as port,
        celery_worker(redis_db=REDIS_DB, env={"EMAIL_URL": f"smtp://127.0.0.1:{port}"}) as worker,
    ):
        # The beat task, for the Done-when moment: Monday 07:00 in Asia/Kolkata; twice.
        worker.sender.send_task("reminders.send_due", args=[SEVEN_IST.isoformat()])
        worker.sender.send_task("reminders.send_due", args=[SEVEN_IST.isoformat()])
        worker.wait_until(all_sent)

    log = worker.log
    assert ReminderDelivery.objects.filter(status=DeliveryStatus.SENT).count() == 3, log
    assert sorted(m["To"] for m in recorder.messages) == sorted(u.email for u in learners), log
