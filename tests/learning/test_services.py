import json

import pytest

from apps.learning.services import user_data_export
from apps.progress.models import Status
from apps.progress.services import step_status_set
from tests.factories import StepFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_export_holds_profile_enrollments_statuses_and_events(learner, django_assert_num_queries):
    step = StepFactory(key="python", track__slug="gen-ai")
    step_status_set(user=learner, step=step, status=Status.IN_PROGRESS)
    step_status_set(user=learner, step=step, status=Status.DONE)
    UserFactory()  # someone else's data never leaks in

    # 1 enrollments, 2 step statuses, 3 events
    with django_assert_num_queries(3):
        data = user_data_export(user=learner)

    json.dumps(data)
    assert data["profile"]["email"] == learner.email
    assert data["enrollments"][0]["track"] == "gen-ai"
    assert data["step_statuses"] == [
        {**data["step_statuses"][0], "track": "gen-ai", "step": "python", "status": "done"}
    ]
    assert [(e["from"], e["to"]) for e in data["events"]] == [
        ("todo", "in_progress"),
        ("in_progress", "done"),
    ]
