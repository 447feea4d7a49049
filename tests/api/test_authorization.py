"""Every endpoint and method, as the owner, as another learner and anonymously.

No URL of the API names a learner's object: progress, events, enrollments and the
account are always the caller's own. So another learner's data is unreachable by
construction; these tests prove that nothing leaks or changes across learners.
"""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.accounts.models import User
from apps.progress.models import ProgressEvent, Status, StepProgress
from apps.progress.services import step_status_set

pytestmark = pytest.mark.django_db


@pytest.fixture
def alices_progress(alice, track):
    s0 = track.steps.get(key="s0")
    step_status_set(user=alice.user, step=s0, status=Status.DONE, idempotency_key="alice-op-1")
    return s0


def endpoints(step_id: int) -> list[tuple[str, str, dict | None]]:
    op = {
        "op_id": str(uuid.uuid4()),
        "step": step_id,
        "status": "skipped",
        "occurred_at": (timezone.now() - timedelta(minutes=1)).isoformat(),
    }
    return [
        ("get", "progress/", None),
        ("get", f"progress/steps/{step_id}/", None),
        ("put", f"progress/steps/{step_id}/", {"status": "in_progress"}),
        ("post", "progress/sync/", {"operations": [op]}),
        ("get", "progress/changes/", None),
        ("get", f"progress/steps/{step_id}/notes/", None),
        ("put", f"progress/steps/{step_id}/notes/", {"body": "Mine"}),
        ("get", "progress/suggestions/", None),
        ("get", "me/", None),
        ("patch", "me/", {"display_name": "Mallory"}),
        ("get", "me/export/", None),
        ("delete", "me/", None),
    ]


def test_anonymous_gets_401_on_every_private_endpoint(anon, alices_progress):
    for method, path, data in endpoints(alices_progress.pk):
        response = anon.request(method, path, data)
        assert response.status_code == 401, (method, path)
        assert response.json()["error"]["code"] == "not_authenticated"
    assert StepProgress.objects.get(step=alices_progress).status == "done"


def test_anonymous_reads_tracks_without_anyones_statuses(anon, alices_progress, track):
    body = anon.get(f"tracks/{track.slug}/").json()
    assert {s["status"] for s in body["steps"]} == {None}
    assert anon.get("tracks/").status_code == 200


def test_another_learner_sees_and_changes_only_their_own(alice, bob, alices_progress, track):
    s0 = alices_progress
    before = list(ProgressEvent.objects.filter(user=alice.user).values())

    assert bob.get("progress/").json()["enrollments"] == []
    assert bob.get(f"progress/steps/{s0.pk}/").json()["status"] == "todo"
    assert bob.get("progress/changes/").json()["changes"] == []
    assert bob.get(f"tracks/{track.slug}/").json()["steps"][0]["status"] == "todo"
    assert bob.get("me/").json()["email"] == "bob@example.com"
    export = bob.get("me/export/").json()
    assert export["profile"]["email"] == "bob@example.com"
    assert export["events"] == export["step_statuses"] == []
    # Alice's cursor means nothing to Bob: it only ever filters Bob's own events.
    assert bob.get("progress/changes/", {"since": 0}).json()["cursor"] == 0

    for method, path, data in endpoints(s0.pk):
        if method != "delete":
            assert bob.request(method, path, data).status_code == 200, (method, path)
    # Replaying Alice's operation key is a new change for Bob, not a duplicate of hers.
    replay = {
        "op_id": str(uuid.UUID(int=1)),
        "step": s0.pk,
        "status": "done",
        "occurred_at": timezone.now().isoformat(),
    }
    ProgressEvent.objects.filter(user=alice.user).update(idempotency_key=replay["op_id"])
    before = list(ProgressEvent.objects.filter(user=alice.user).values())
    assert bob.post("progress/sync/", {"operations": [replay]}).json()["results"][0]["result"] == (
        "applied"
    )

    assert list(ProgressEvent.objects.filter(user=alice.user).values()) == before
    assert StepProgress.objects.get(user=alice.user, step=s0).status == "done"
    assert alice.get("me/").json()["display_name"] == ""
    assert alice.get("progress/changes/").json()["changes"][0]["to_status"] == "done"


def test_deleting_an_account_deletes_only_that_one(alice, bob, alices_progress):
    from tests.api.conftest import HEADLESS, PASSWORD

    bob.client.post(
        f"{HEADLESS}/auth/reauthenticate",
        {"password": PASSWORD},
        content_type="application/json",
        headers={"X-Session-Token": bob.token},
    )
    assert bob.delete("me/").status_code == 204

    assert not User.objects.filter(email="bob@example.com").exists()
    assert alice.get("me/").status_code == 200
    assert StepProgress.objects.filter(user=alice.user).count() == 1
