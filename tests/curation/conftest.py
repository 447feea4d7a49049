from datetime import timedelta

import pytest
from django.utils import timezone

from apps.content.models import ChoiceGroup
from apps.linkhealth.models import BrokenLinkReport, ResourceHealth
from apps.progress.models import Status
from apps.progress.services import step_status_set
from tests.factories import (
    ResourceFactory,
    StepFactory,
    StepResourceFactory,
    TrackFactory,
    UserFactory,
)


def study(user, step, status, *, days_ago: float = 0.0, hours: float = 0.0) -> None:
    """A learner's status change on a step, as the web records it, at a given moment."""
    step_status_set(
        user=user,
        step=step,
        status=status,
        occurred_at=timezone.now() - timedelta(days=days_ago) + timedelta(hours=hours),
    )


@pytest.fixture
def world(db):
    """A small Stepwise: one track of current steps (two, a choice group of two, an
    optional one), a retired one; a second track sharing a resource; four learners.

    - ada finished every step (one alternative of the group, and the optional last step)
      a day ago: complete;
    - bob finished step 1 and skipped step 2, ten days ago;
    - cy started step 1 forty days ago and stalls there;
    - a retired step has ada's progress, which never counts.
    """
    track = TrackFactory(slug="ml", title="Machine learning")
    s1 = StepFactory(track=track, key="s1", title="Python", position=1)
    s2 = StepFactory(track=track, key="s2", title="Numpy", position=2)
    group = ChoiceGroup.objects.create(track=track, key="pick", title="Pick one", required=1)
    s3a = StepFactory(track=track, key="s3a", title="PyTorch", position=3, group=group)
    s3b = StepFactory(track=track, key="s3b", title="JAX", position=4, group=group)
    s4 = StepFactory(track=track, key="s4", title="Ship it", position=5, is_optional=True)
    old = StepFactory(track=track, key="old", title="Old step", position=6)
    other = TrackFactory(slug="other", title="Other")
    o1 = StepFactory(track=other, key="o1", title="Other one", position=1)
    shared = ResourceFactory(title="Shared", url="https://example.com/shared")
    StepResourceFactory(step=s2, resource=shared)
    StepResourceFactory(step=o1, resource=shared)
    lonely = ResourceFactory(title="Lonely", url="https://example.com/lonely")
    StepResourceFactory(step=old, resource=lonely)

    ada, bob, cy = UserFactory(), UserFactory(), UserFactory()
    study(ada, s1, Status.DONE, days_ago=1, hours=-3)
    study(ada, s2, Status.DONE, days_ago=1, hours=-1)
    study(ada, s3a, Status.DONE, days_ago=1)
    study(ada, s4, Status.DONE, days_ago=1, hours=1)
    study(ada, old, Status.DONE, days_ago=1)
    study(bob, s1, Status.DONE, days_ago=10)
    study(bob, s2, Status.SKIPPED, days_ago=10)
    study(cy, s1, Status.IN_PROGRESS, days_ago=40)
    old.retired_at = timezone.now()
    old.save()

    ResourceHealth.objects.create(resource=shared, health="broken")
    reporter = UserFactory()
    BrokenLinkReport.objects.create(user=reporter, resource=shared)
    BrokenLinkReport.objects.create(user=ada, resource=shared, resolved_at=timezone.now())
    return {
        "track": track,
        "other": other,
        "steps": {"s1": s1, "s2": s2, "s3a": s3a, "s3b": s3b, "s4": s4, "old": old, "o1": o1},
        "shared": shared,
        "lonely": lonely,
        "learners": {"ada": ada, "bob": bob, "cy": cy},
    }
