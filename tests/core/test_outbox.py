"""The outbox: a task is published when, and only when, the caller's work commits, and a
broker outage delays it without failing or stalling the caller."""

import base64
import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from apps.core.models import OutboxMessage
from apps.core.outbox import outbox_enqueue, outbox_relay
from apps.core.tasks import outbox_relay as outbox_relay_task
from apps.linkhealth.tasks import links_check_chunk
from tests.broker import publishing_to, within
from tests.production import OwnRedis, own_redis

CHUNK = "apps.linkhealth.tasks.links_check_chunk"


def queued_tasks(redis: OwnRedis) -> list[tuple[str, list]]:
    """The (task name, args) of the messages waiting in the broker, oldest first."""
    import redis as redis_client

    raw = redis_client.Redis.from_url(redis.url).lrange("celery", 0, -1)
    messages = [json.loads(item) for item in reversed(raw)]  # LPUSH: newest first
    return [(m["headers"]["task"], json.loads(base64.b64decode(m["body"]))[0]) for m in messages]


def enqueue_committed(task, args=()) -> int:
    with transaction.atomic():
        message = outbox_enqueue(task, args=args)
    assert message is not None
    return message.pk


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_publishes_nothing_and_a_committed_one_publishes_once():
    with own_redis() as redis, publishing_to(redis.url):
        with pytest.raises(RuntimeError), transaction.atomic():
            outbox_enqueue(links_check_chunk, args=(7, 0))
            raise RuntimeError("the caller's work fails")

        assert not OutboxMessage.objects.exists()
        assert queued_tasks(redis) == []

        with transaction.atomic():
            outbox_enqueue(links_check_chunk, args=(7, 1))
            assert queued_tasks(redis) == []  # not before the commit

        assert queued_tasks(redis) == [(CHUNK, [7, 1])]
        assert OutboxMessage.objects.get().sent_at is not None
        # Sent already: the relay publishes it no second time.
        assert outbox_relay().sent == 0
        assert queued_tasks(redis) == [(CHUNK, [7, 1])]


@pytest.mark.django_db(transaction=True)
def test_with_the_broker_down_messages_wait_and_the_relay_publishes_each_once(settings):
    with own_redis() as redis, publishing_to(redis.url):
        redis.stop()

        # Given the broker down, when the caller commits: no error, no hang, a pending row.
        first = within(5, lambda: enqueue_committed(links_check_chunk, (7, 0)))
        # Another commit right after does not wait on the dead broker again.
        second = within(5, lambda: enqueue_committed(links_check_chunk, (7, 1)))

        rows = {m.pk: m for m in OutboxMessage.objects.all()}
        assert rows[first].sent_at is None and rows[second].sent_at is None
        assert rows[first].attempts == 1
        assert "Connection refused" in rows[first].last_error
        assert rows[first].available_at > timezone.now()  # backing off
        assert rows[second].attempts == 0  # left to the relay
        # The relay, the broker still down: one failed try, the run ends, nothing hangs.
        result = within(10, outbox_relay)
        assert (result.sent, result.failed) == (0, 1)

        # When the broker is back and the relay runs (the backoff over), each is published.
        redis.start()
        OutboxMessage.objects.update(available_at=timezone.now())
        assert outbox_relay().sent == 2

        assert queued_tasks(redis) == [(CHUNK, [7, 0]), (CHUNK, [7, 1])]
        assert not OutboxMessage.objects.filter(sent_at__isnull=True).exists()
        assert outbox_relay().sent == 0
        assert len(queued_tasks(redis)) == 2


@pytest.mark.django_db(transaction=True)
def test_a_failing_message_backs_off_exponentially_up_to_the_cap(settings):
    settings.OUTBOX_RETRY_BACKOFF_SECONDS = 5
    settings.OUTBOX_RETRY_BACKOFF_MAX_SECONDS = 15
    with own_redis() as redis, publishing_to(redis.url):
        redis.stop()
        message = OutboxMessage.objects.create(task=CHUNK, args=[7, 0])
        waits = []
        for _ in range(4):
            before = timezone.now()
            OutboxMessage.objects.filter(pk=message.pk).update(available_at=before)
            outbox_relay()
            message.refresh_from_db()
            waits.append(round((message.available_at - before).total_seconds()))

    assert waits == [5, 10, 15, 15]
    assert message.attempts == 4 and message.sent_at is None


@pytest.mark.django_db(transaction=True)
def test_a_message_with_a_countdown_waits_in_the_outbox_until_due():
    with own_redis() as redis, publishing_to(redis.url):
        with transaction.atomic():
            outbox_enqueue(links_check_chunk, args=(7, 0), countdown=60)

        assert outbox_relay().sent == 0
        assert queued_tasks(redis) == []
        OutboxMessage.objects.update(available_at=timezone.now() - timedelta(seconds=1))
        assert outbox_relay().sent == 1
        assert queued_tasks(redis) == [(CHUNK, [7, 0])]


@pytest.mark.django_db(transaction=True)
def test_relay_outbox_publishes_what_is_pending_and_old_sent_rows_go(settings):
    with own_redis() as redis, publishing_to(redis.url):
        OutboxMessage.objects.create(task=CHUNK, args=[7, 0])
        old = timezone.now() - timedelta(hours=settings.OUTBOX_KEEP_SENT_HOURS + 1)
        OutboxMessage.objects.create(task=CHUNK, args=[6, 0], sent_at=old)
        out = StringIO()

        call_command("relay_outbox", "--once", stdout=out)

        assert out.getvalue().strip() == "Published 1, failed 0, deleted 1 old sent messages."
        assert queued_tasks(redis) == [(CHUNK, [7, 0])]
        assert OutboxMessage.objects.get().sent_at is not None


@pytest.mark.django_db
def test_beat_runs_the_relay_every_30_seconds():
    task = PeriodicTask.objects.get(task=outbox_relay_task.name)

    assert task.enabled
    assert (task.interval.every, task.interval.period) == (30, "seconds")
