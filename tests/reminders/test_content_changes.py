"""Reminders follow what a track counts: retired steps and choice groups."""

from datetime import UTC, datetime

import pytest

from apps.content.models import ChoiceGroup
from apps.content.services import steps_remove
from apps.reminders.models import DeliveryKind
from apps.reminders.selectors import reminders_due_select
from tests.reminders.conftest import study

pytestmark = pytest.mark.django_db

SEVEN_IST = datetime(2025, 6, 2, 1, 30, tzinfo=UTC)  # Monday 07:00 in Asia/Kolkata
THEN = datetime(2025, 5, 1, tzinfo=UTC)


def decision_for(user):
    selection = reminders_due_select(now=SEVEN_IST)
    return next(d for d in selection.decisions if d.user_id == user.pk)


def test_a_retired_step_left_undone_does_not_keep_a_track_unfinished(make_learner, track):
    learner = make_learner(timezone="Asia/Kolkata", reminder_hour=7)
    for position in range(2):
        study(learner, track, THEN, position=position)
    last = track.steps.order_by("position")[2]
    study(make_learner(), track, THEN, position=2)  # another learner's: it is retired, not deleted
    assert decision_for(learner).kind == DeliveryKind.REMINDER

    steps_remove(step_ids=[last.pk])

    assert decision_for(learner).reason == "no unfinished track"


def test_an_untaken_alternative_does_not_keep_a_track_unfinished(make_learner, track):
    learner = make_learner(timezone="Asia/Kolkata", reminder_hour=7)
    steps = list(track.steps.order_by("position"))
    group = ChoiceGroup.objects.create(track=track, key="pick", title="Pick one")
    for step in steps[1:]:
        step.group = group
        step.save()
    study(learner, track, THEN, position=0)
    assert decision_for(learner).kind == DeliveryKind.REMINDER

    study(learner, track, THEN, position=2)  # the second alternative, not the first

    assert decision_for(learner).reason == "no unfinished track"
