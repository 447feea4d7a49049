import json
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.learning.services import user_data_export
from apps.progress.models import Status
from apps.progress.services import (
    SyncOperation,
    progress_sync,
    step_note_set,
    step_status_set,
    track_bulk_set,
)
from tests.factories import StepFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_export_holds_profile_enrollments_statuses_and_events(learner, django_assert_num_queries):
    step = StepFactory(key="python", track__slug="gen-ai")
    step_status_set(user=learner, step=step, status=Status.IN_PROGRESS)
    step_status_set(user=learner, step=step, status=Status.DONE)
    step_note_set(user=learner, step=step, body="Use the *notebook*", links=["https://n.example/"])
    reset = track_bulk_set(user=learner, track=step.track, kind="reset").action
    other = UserFactory()  # someone else's data never leaks in
    step_note_set(user=other, step=step, body="Not mine", links=[])

    # 1 enrollments, 2 step statuses, 3 events, 4 notes, 5 bulk actions, 6 sync
    # operations, 7 the public page's settings (none here; its tracks are 1 more), 8 the
    # calendar link, 9 visits
    with django_assert_num_queries(9):
        data = user_data_export(user=learner)

    json.dumps(data)
    assert data["profile"]["email"] == learner.email
    assert data["enrollments"][0]["track"] == "gen-ai"
    assert data["step_statuses"] == [
        {**data["step_statuses"][0], "track": "gen-ai", "step": "python", "status": "todo"}
    ]
    assert [(e["from"], e["to"], e["bulk_action"]) for e in data["events"]] == [
        ("todo", "in_progress", None),
        ("in_progress", "done", None),
        ("done", "todo", str(reset.pk)),
    ]
    assert data["notes"] == [
        {
            "track": "gen-ai",
            "step": "python",
            "body": "Use the *notebook*",
            "links": ["https://n.example/"],
            "updated_at": data["notes"][0]["updated_at"],
        }
    ]
    assert [(a["kind"], a["steps_changed"]) for a in data["bulk_actions"]] == [("reset", 1)]


def test_export_holds_the_public_page_calendar_link_and_visits_never_the_token(learner, client):
    from apps.learning.calendar import calendar_feed_issue
    from apps.learning.public import public_profile_update

    step = StepFactory(key="python", track__slug="gen-ai")
    step_status_set(user=learner, step=step, status=Status.DONE)
    public_profile_update(user=learner, handle="ada", is_public=True, track_ids=[step.track_id])
    token = calendar_feed_issue(user=learner)
    from apps.content.services import step_saved_record

    step_saved_record(step=StepFactory(track=step.track, key="new"), created=True)
    client.force_login(learner)
    client.get(f"/tracks/{step.track.slug}/")  # what changed is shown: the visit is kept

    data = user_data_export(user=learner)

    assert data["public_page"] == {**data["public_page"], "handle": "ada", "public": True}
    assert data["public_page"]["tracks"] == ["gen-ai"]
    assert data["calendar_feed"]["created_at"]
    assert token not in json.dumps(data)
    assert [v["track"] for v in data["track_visits"]] == ["gen-ai"]
    assert user_data_export(user=UserFactory())["public_page"] is None


def test_export_holds_the_offline_operations_taken_from_the_devices(learner):
    step = StepFactory()
    moment = timezone.now() - timedelta(minutes=5)
    progress_sync(
        user=learner,
        operations=[
            SyncOperation(op_id="op-1", step_id=step.pk, status="done", occurred_at=moment)
        ],
    )
    progress_sync(
        user=UserFactory(),
        operations=[
            SyncOperation(op_id="op-2", step_id=step.pk, status="done", occurred_at=moment)
        ],
    )

    operations = user_data_export(user=learner)["sync_operations"]

    assert operations == [
        {
            "op_id": "op-1",
            "step_id": step.pk,
            "status": "done",
            "occurred_at": moment.isoformat(),
            "recorded_at": operations[0]["recorded_at"],
        }
    ]
