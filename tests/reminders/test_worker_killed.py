"""A Celery worker killed with ``kill -9`` in the middle of a batch of reminders, then
restarted: every due learner gets their email, and none twice but the one in flight on
each killed connection. A real worker (prefork, concurrency 2) through a real Redis broker,
and a real SMTP server on loopback that counts what it receives."""

import asyncio
import os
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from allauth.account.models import EmailAddress

from apps.accounts.models import User
from apps.progress.models import Enrollment
from apps.reminders.models import DeliveryStatus, ReminderDelivery, ReminderPreferences
from tests.celery_worker import WorkerRun, celery_worker
from tests.reminders.smtp import smtp_server
from tests.reminders.test_selection import SEVEN_IST

LEARNERS = 1_000
CHUNK = 100
KILL_AFTER = 300  # messages received before the kill


@dataclass
class CountingServer:
    """Counts messages per recipient and SMTP sessions opened and closed with QUIT. Each
    message takes a few milliseconds, as a real relay's would, so the batch lasts a while."""

    kill_at: int
    per_recipient: Counter[str] = field(default_factory=Counter)
    received: int = 0
    opened: int = 0
    quit: int = 0
    reached: threading.Event = field(default_factory=threading.Event)

    async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str, responses):
        self.opened += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server, session, envelope) -> str:
        await asyncio.sleep(0.004)
        self.per_recipient.update(envelope.rcpt_tos)
        self.received += 1
        if self.received >= self.kill_at:
            self.reached.set()
        return "250 Message accepted"

    async def handle_QUIT(self, server, session, envelope) -> str:
        self.quit += 1
        return "221 Bye"

    @property
    def open_connections(self) -> int:
        return self.opened - self.quit


def due_learners(track, n: int) -> list[str]:
    """``n`` learners due at SEVEN_IST (07:00 in Kolkata), made in bulk."""
    at = datetime(2025, 1, 1, tzinfo=UTC)
    users = User.objects.bulk_create(
        User(email=f"killed-{i}@example.org", password="!", timezone="Asia/Kolkata")
        for i in range(n)
    )
    EmailAddress.objects.bulk_create(
        EmailAddress(user=u, email=u.email, primary=True, verified=True) for u in users
    )
    ReminderPreferences.objects.bulk_create(
        ReminderPreferences(user=u, reminder_frequency="daily", reminder_hour=7) for u in users
    )
    Enrollment.objects.bulk_create(
        Enrollment(user=u, track=track, started_at=at, last_activity_at=at) for u in users
    )
    return [u.email for u in users]


def kill_9(run: WorkerRun) -> None:
    """``kill -9`` the whole worker at once: its main process and its pool processes, as
    losing its machine or container would."""
    pid = run.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    for process in (pid, *map(int, children)):
        os.kill(process, signal.SIGKILL)
    run.process.wait(10)


def wait_for(done, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if done():
            return True
        time.sleep(0.2)
    return done()


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_batch_loses_no_reminder_and_sends_none_twice_but_in_flight(
    track, worker_redis_db
):
    emails = due_learners(track, LEARNERS)
    server = CountingServer(kill_at=KILL_AFTER)
    rows = ReminderDelivery.objects.all()

    with smtp_server(server) as port:  # type: ignore[arg-type]
        env = {
            "EMAIL_URL": f"smtp://127.0.0.1:{port}",
            "REMINDERS_SEND_CHUNK_SIZE": str(CHUNK),
            # A claim lasts 12 s (a chunk sends for 6 s at most): a killed chunk's deliveries
            # can be taken over 12 s after the kill; the broker hands its task out after 60 s.
            # (Shorter than the tasks' hard time limit, which system check reminders.E002
            # refuses: the limit is there for a mail server that hangs, and this one does not.)
            "REMINDERS_SENDING_STALE_MINUTES": "0.2",
            "REMINDERS_SEND_BACKOFF_SECONDS": "1",
            # The broker hands a lost worker's tasks out again after 60 s, not an hour.
            "DJANGO_SETTINGS_MODULE": "tests.reminders.worker_settings",
        }
        worker: dict[str, Any] = {"env": env, "pool": "prefork", "concurrency": 2}
        # Given the beat's task for 07:00 in Kolkata, on a worker that is killed with
        # `kill -9` (the whole worker: main process and both pool processes) mid-batch.
        with celery_worker(redis_db=worker_redis_db, **worker) as first:
            first.sender.send_task("reminders.send_due", args=[SEVEN_IST.isoformat()])
            assert server.reached.wait(120), "the batch never got going"
            kill_9(first)
        time.sleep(1)  # the server finishes what was on the wire and sees the connections drop
        received_before = server.received
        killed_connections = server.open_connections
        left_sending = rows.filter(status=DeliveryStatus.SENDING).count()
        sent_recorded = rows.filter(status=DeliveryStatus.SENT).count()

        # When a worker starts again.
        def settled() -> bool:
            return not rows.exclude(status=DeliveryStatus.SENT).exists() and len(
                server.per_recipient
            ) == len(emails)

        # The restarted worker finds the queue as the killed one left it.
        with celery_worker(redis_db=worker_redis_db, keep_queue=True, **worker) as second:
            wait_for(settled, 240)
            time.sleep(2)  # a moment more, in case something went out twice

    duplicates = server.received - len(server.per_recipient)
    summary = (
        f"{received_before} received before the kill, {sent_recorded} recorded sent, "
        f"{left_sending} left sending, {killed_connections} connections killed; "
        f"{server.received} received in all for {len(emails)} learners: "
        f"{duplicates} duplicates; "
        f"by status {dict(Counter(rows.values_list('status', flat=True)))}\n"
        f"the restarted worker said:\n{second.log[-3000:]}"
    )
    print(summary.split("\n", 1)[0])
    # The kill landed mid-batch, mid-chunk.
    assert received_before < len(emails), summary
    assert killed_connections >= 1 and left_sending >= 1, summary
    # What the server accepted before the kill is what was recorded sent (give or take
    # the one in flight per connection).
    assert received_before - killed_connections <= sent_recorded <= received_before, summary
    # Then every due learner got their email...
    assert set(server.per_recipient) == set(emails), summary
    # ...and no one twice, but at most the message in flight on each killed connection.
    assert duplicates <= killed_connections, summary
    assert max(server.per_recipient.values()) <= 2, summary
    # Every delivery shows its true state: sent.
    assert dict(Counter(rows.values_list("status", flat=True))) == {
        DeliveryStatus.SENT: len(emails)
    }, summary
