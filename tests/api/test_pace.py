"""GET /api/v1/progress/pace/: the learner's pace, week and finish dates."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.progress.models import Status
from apps.progress.services import step_status_set
from tests.factories import StepFactory, TrackFactory

pytestmark = pytest.mark.django_db


def _done(user, step, days_ago: float) -> None:
    step_status_set(
        user=user,
        step=step,
        status=Status.DONE,
        occurred_at=timezone.now() - timedelta(days=days_ago),
    )


def test_the_api_reports_pace_week_and_finish_dates_for_the_learner_only(alice, bob):
    track = TrackFactory(slug="api-paced")
    steps = [StepFactory(track=track, estimated_minutes=30, position=n) for n in range(5)]
    for n in range(3):
        _done(alice.user, steps[n], n + 1)

    body = alice.get("progress/pace/").json()

    assert body["pace"] == {"minutes": 90, "steps": 3, "days": 28, "enough_history": True}
    assert body["weekly"] == {"done": 3, "goal": None}
    finish = (timezone.localdate() + timedelta(days=19)).isoformat()  # 60 min at 90/28 a day
    assert body["tracks"] == [{"track": "api-paced", "remaining_minutes": 60, "finish_on": finish}]
    assert bob.get("progress/pace/").json()["tracks"] == []
    assert bob.get("progress/pace/").json()["pace"]["steps"] == 0
    assert bob.get("progress/pace/").headers["Content-Type"] == "application/json"
