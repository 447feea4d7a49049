from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apps.accounts.models import User
from apps.progress.models import Status, StepProgress
from tests.factories import StepFactory, TrackFactory

pytestmark = pytest.mark.django_db


def test_seed_demo_creates_a_curator_and_a_learner_with_progress_once():
    StepFactory.create_batch(6, track=TrackFactory())

    out = StringIO()
    call_command("seed_demo", stdout=out)
    call_command("seed_demo", stdout=StringIO())  # a second run changes nothing

    assert "curator@stepwise.localhost" in out.getvalue()
    curator = User.objects.get(email="curator@stepwise.localhost")
    assert curator.is_staff and curator.groups.filter(name="Curators").exists()
    learner = User.objects.get(email="learner@stepwise.localhost")
    statuses = StepProgress.objects.filter(user=learner).values_list("status", flat=True)
    assert sorted(statuses) == sorted(
        [Status.DONE, Status.DONE, Status.DONE, Status.SKIPPED, Status.IN_PROGRESS]
    )


def test_seed_demo_asks_for_the_roadmaps_first():
    with pytest.raises(CommandError, match="load_roadmaps"):
        call_command("seed_demo", stdout=StringIO())
