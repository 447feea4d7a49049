"""A reminder run through a real Redis broker and a Celery worker subprocess."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from celery import Celery
from django.conf import settings
from django.db import connection

from apps.reminders.models import DeliveryStatus, ReminderDelivery
from tests.conftest import redis_url
from tests.reminders.smtp import Recorder, smtp_server
from tests.reminders.test_selection import SEVEN_IST

# Reminders' own Redis database, so other suites' workers never take these tasks.
REDIS_DB = 6
WAIT_SECONDS = 20


def _own_redis_url() -> str:
    parts = urlsplit(redis_url())
    return urlunsplit(parts._replace(path=f"/{REDIS_DB}"))


def _test_database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] or "postgres"
    if db["PASSWORD"]:
        auth += f":{db['PASSWORD']}"
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_beat_task_runs_on_a_worker_through_redis(make_learner):
    import redis

    broker = _own_redis_url()
    redis.Redis.from_url(broker).flushdb()
    learners = [make_learner(timezone="Asia/Kolkata", reminder_hour=7) for _ in range(3)]
    recorder = Recorder()

    with smtp_server(recorder) as port:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.dev",
            "DATABASE_URL": _test_database_url(),
            "CONN_MAX_AGE": "0",
            "REDIS_URL": broker,
            "EMAIL_URL": f"smtp://127.0.0.1:{port}",
            "SECRET_KEY": settings.SECRET_KEY,
            "DEBUG": "false",
        }
        worker = subprocess.Popen(  # noqa: S603
            [
                str(Path(sys.executable).with_name("celery")),
                "-A",
                "config.celery_app",
                "worker",
                "--pool=solo",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel=warning",
            ],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            sender = Celery(broker=broker, set_as_current=False)
            # The beat task, for the Done-when moment: Monday 07:00 in Asia/Kolkata; twice.
            sender.send_task("reminders.send_due", args=[SEVEN_IST.isoformat()])
            sender.send_task("reminders.send_due", args=[SEVEN_IST.isoformat()])
            deadline = time.monotonic() + WAIT_SECONDS
            while time.monotonic() < deadline and worker.poll() is None:
                sent = ReminderDelivery.objects.filter(status=DeliveryStatus.SENT).count()
                if sent == len(learners) and recorder.received == len(learners):
                    break
                time.sleep(0.2)
            # A moment more, in case the second run wrongly sends again.
            time.sleep(0.5)
        finally:
            worker.send_signal(signal.SIGTERM)
            try:
                output, _ = worker.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                worker.kill()
                output, _ = worker.communicate()

    log = output.decode(errors="replace")
    assert ReminderDelivery.objects.filter(status=DeliveryStatus.SENT).count() == 3, log
    assert sorted(m["To"] for m in recorder.messages) == sorted(u.email for u in learners), log
