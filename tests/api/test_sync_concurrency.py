"""Two devices of one learner syncing the same steps at the same moment (PostgreSQL)."""

import itertools
import threading
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apps.accounts.services import user_create
from apps.progress.models import ProgressEvent, StepProgress
from tests.api.conftest import PASSWORD, Api, build_track, headless_login

STATUSES = ["in_progress", "done", "skipped", "todo"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_syncs_of_the_same_steps_keep_the_latest_change():
    user = user_create(email="two-phones@example.com", password=PASSWORD, email_verified=True)
    phone, tablet = Api(headless_login(user.email), user), Api(headless_login(user.email), user)
    steps = list(build_track(steps=8, slug="shared").steps.order_by("position"))
    base = timezone.now() - timedelta(hours=1)

    # Each device changes every step several times; their clocks interleave.
    def queue(offset: int) -> list[dict]:
        return [
            {
                "op_id": str(uuid.uuid4()),
                "step": step.pk,
                "status": STATUSES[(n + offset + i) % 4],
                "occurred_at": (base + timedelta(seconds=10 * n + offset + i)).isoformat(),
            }
            for i, step in enumerate(steps)
            for n in range(5)
        ]

    queues = {"phone": queue(0), "tablet": queue(5)}
    answers: dict[str, dict] = {}
    barrier = threading.Barrier(2)

    def run(name: str, device: Api) -> None:
        try:
            barrier.wait()
            answers[name] = device.post("progress/sync/", {"operations": queues[name]}).json()
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=("phone", phone)),
        threading.Thread(target=run, args=("tablet", tablet)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert set(answers) == {"phone", "tablet"}
    every_op = queues["phone"] + queues["tablet"]
    for step in steps:
        latest = max((o for o in every_op if o["step"] == step.pk), key=lambda o: o["occurred_at"])
        row = StepProgress.objects.get(user=user, step=step)
        assert (row.status, row.status_changed_at.isoformat()) == (
            latest["status"],
            latest["occurred_at"],
        )
    results = answers["phone"]["results"] + answers["tablet"]["results"]
    changed = {r["op_id"] for r in results if r["result"] == "applied" and r["changed"]}
    events = list(ProgressEvent.objects.filter(user=user).values_list("idempotency_key", flat=True))
    # One event per applied change, none for stale ones, none twice.
    assert sorted(events) == sorted(changed)
    assert {r["result"] for r in results} <= {"applied", "stale"}
    # The event log of each step replays to its final status.
    for step in steps:
        history = ProgressEvent.objects.filter(user=user, step=step).order_by("id")
        chain = [(e.from_status, e.to_status) for e in history]
        assert all(a[1] == b[0] for a, b in itertools.pairwise(chain))
        assert chain[-1][1] == StepProgress.objects.get(user=user, step=step).status


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_batch_from_two_devices_at_once_is_taken_once():
    user = user_create(email="resend@example.com", password=PASSWORD, email_verified=True)
    phone, tablet = Api(headless_login(user.email), user), Api(headless_login(user.email), user)
    steps = list(build_track(steps=6, slug="resent").steps.order_by("position"))
    base = timezone.now() - timedelta(hours=1)
    # A lost answer: the phone sends its queue again while the tablet relays the same one.
    batch = [
        {
            "op_id": str(uuid.uuid4()),
            "step": step.pk,
            "status": status,
            "occurred_at": (base + timedelta(seconds=n)).isoformat(),
        }
        for n, (step, status) in enumerate(itertools.product(steps, ["done", "done"]))
    ]
    answers: dict[str, list[dict]] = {}
    barrier = threading.Barrier(2)

    def run(name: str, device: Api) -> None:
        try:
            barrier.wait()
            answers[name] = device.post("progress/sync/", {"operations": batch}).json()["results"]
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=pair) for pair in (("a", phone), ("b", tablet))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    # One sync took every operation, the other found each one taken.
    outcomes = {tuple(r["result"] for r in answers[name]) for name in ("a", "b")}
    assert outcomes == {("applied",) * len(batch), ("duplicate",) * len(batch)}
    assert ProgressEvent.objects.filter(user=user).count() == len(steps)
