"""Op_ids synced before receipts existed are kept as taken by migration 0003."""

import importlib
import uuid
from datetime import timedelta

import pytest
from django.apps import apps
from django.utils import timezone

from apps.progress.models import ProgressEvent, Source, Status, SyncReceipt
from apps.progress.services import step_status_set

pytestmark = pytest.mark.django_db

migration = importlib.import_module("apps.progress.migrations.0003_sync_receipts")


def test_op_ids_of_earlier_syncs_stay_duplicates(alice, track):
    s0, s1 = track.steps.order_by("position")[:2]
    when = timezone.now().replace(microsecond=0) - timedelta(hours=2)
    # What a sync left before receipts: an event keyed by the op_id, and no receipt.
    old_op = str(uuid.uuid4())
    ProgressEvent.objects.create(
        user=alice.user,
        step=s0,
        from_status=Status.TODO,
        to_status=Status.DONE,
        occurred_at=when,
        source=Source.API,
        idempotency_key=old_op,
    )
    # A web change with its own key is not a sync operation.
    step_status_set(user=alice.user, step=s1, status=Status.DONE, idempotency_key="web-click-1")

    migration.receipts_from_sync_events(apps, None)

    assert list(SyncReceipt.objects.values_list("op_id", "step_id", "status")) == [
        (old_op, s0.pk, Status.DONE)
    ]
    replay = {"op_id": old_op, "step": s0.pk, "status": "done", "occurred_at": when.isoformat()}
    results = alice.post(
        "progress/sync/", {"operations": [replay, {**replay, "status": "skipped"}]}
    ).json()["results"]
    assert [(r["result"], r["reason"]) for r in results] == [
        ("duplicate", None),
        ("rejected", "op_id_reused"),
    ]


def test_deleting_the_account_deletes_its_receipts(alice, bob, track):
    step = track.steps.get(key="s0")
    when = timezone.now() - timedelta(minutes=5)
    for learner in (alice, bob):
        operation = {
            "op_id": str(uuid.uuid4()),
            "step": step.pk,
            "status": "done",
            "occurred_at": when.isoformat(),
        }
        learner.post("progress/sync/", {"operations": [operation]})
    assert SyncReceipt.objects.count() == 2

    alice.user.delete()

    assert list(SyncReceipt.objects.values_list("user_id", flat=True)) == [bob.user.pk]
