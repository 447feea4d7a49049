from datetime import UTC, datetime

import pytest
from allauth.account.models import EmailAddress

from apps.progress.services import step_status_set, track_enroll
from apps.reminders.services import reminder_preferences_update
from tests.factories import (
    ResourceFactory,
    StepFactory,
    StepResourceFactory,
    TrackFactory,
    UserFactory,
)

# A Monday, long enough ago that progress recorded "then" is never in the future.
MONDAY = datetime(2025, 6, 2, tzinfo=UTC)


@pytest.fixture
def track(db):
    track = TrackFactory(title="Generative AI")
    for position in range(3):
        step = StepFactory(track=track, position=position, title=f"Step {position + 1}")
        StepResourceFactory(
            step=step,
            position=0,
            resource=ResourceFactory(title=f"Course {position + 1}"),
        )
    return track


@pytest.fixture
def make_learner(track):
    """A learner with a verified address, enrolled in ``track`` (unfinished), with preferences."""

    def make(
        *,
        timezone: str = "UTC",
        verified: bool = True,
        enrolled: bool = True,
        **preferences,
    ):
        user = UserFactory(timezone=timezone)
        EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=verified)
        if enrolled:
            track_enroll(user=user, track_id=track.pk, at=datetime(2025, 1, 1, tzinfo=UTC))
        if preferences:
            reminder_preferences_update(user=user, **preferences)
        return user

    return make


def study(user, track, at: datetime, *, position: int = 0, status: str = "done"):
    """The learner makes progress on a step of ``track`` at ``at``."""
    step = track.steps.order_by("position")[position]
    return step_status_set(user=user, step=step, status=status, occurred_at=at)
