"""Reads of learners' progress."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce

from apps.content.models import Step
from apps.progress.models import Status, StepProgress


@dataclass(frozen=True)
class Completion:
    """How far one learner is through one track.

    ``percent`` = done required steps ÷ (required steps - skipped required steps),
    floored to a whole number so that 100 means nothing is left. Optional steps
    never hold it back. A track whose every required step was skipped (or that
    has none) counts as complete.
    """

    user_id: int
    track_id: int
    required_total: int = 0
    required_done: int = 0
    required_skipped: int = 0
    optional_total: int = 0
    optional_done: int = 0
    in_progress: int = 0
    total_minutes: int = 0
    #: Estimated minutes of the required steps neither done nor skipped.
    remaining_minutes: int = 0

    @property
    def percent(self) -> int:
        denominator = self.required_total - self.required_skipped
        if denominator <= 0:
            return 100
        return self.required_done * 100 // denominator

    @property
    def steps_total(self) -> int:
        return self.required_total + self.optional_total

    @property
    def steps_done(self) -> int:
        return self.required_done + self.optional_done

    @property
    def is_complete(self) -> bool:
        return self.percent == 100


def completion_for(
    *, user_ids: Iterable[int], track_ids: Iterable[int]
) -> dict[tuple[int, int], Completion]:
    """Completion of every (user, track) pair asked for, in two queries whatever the sizes.

    1. per track: required and optional step counts and minutes;
    2. per (user, track): counts of the learner's statuses split by optional flag.
    """
    users, tracks = sorted(set(user_ids)), sorted(set(track_ids))
    if not users or not tracks:
        return {}
    required, optional = Q(is_optional=False), Q(is_optional=True)
    per_track: dict[int, Mapping[str, Any]] = {
        row["track_id"]: row
        for row in Step.objects.filter(track_id__in=tracks)
        .order_by()
        .values("track_id")
        .annotate(
            required_total=Count("pk", filter=required),
            optional_total=Count("pk", filter=optional),
            total_minutes=Coalesce(Sum("estimated_minutes"), 0),
            required_minutes=Coalesce(Sum("estimated_minutes", filter=required), 0),
        )
    }
    req, opt = Q(step__is_optional=False), Q(step__is_optional=True)
    finished = Q(status__in=[Status.DONE, Status.SKIPPED])
    per_learner: dict[tuple[int, int], Mapping[str, Any]] = {
        (row["user_id"], row["step__track_id"]): row
        for row in StepProgress.objects.filter(user_id__in=users, step__track_id__in=tracks)
        .order_by()
        .values("user_id", "step__track_id")
        .annotate(
            required_done=Count("pk", filter=req & Q(status=Status.DONE)),
            required_skipped=Count("pk", filter=req & Q(status=Status.SKIPPED)),
            optional_done=Count("pk", filter=opt & Q(status=Status.DONE)),
            in_progress=Count("pk", filter=Q(status=Status.IN_PROGRESS)),
            finished_minutes=Coalesce(Sum("step__estimated_minutes", filter=req & finished), 0),
        )
    }
    result: dict[tuple[int, int], Completion] = {}
    for track_id in tracks:
        steps: Mapping[str, Any] = per_track.get(track_id, {})
        for user_id in users:
            mine: Mapping[str, Any] = per_learner.get((user_id, track_id), {})
            result[(user_id, track_id)] = Completion(
                user_id=user_id,
                track_id=track_id,
                required_total=steps.get("required_total", 0),
                optional_total=steps.get("optional_total", 0),
                total_minutes=steps.get("total_minutes", 0),
                required_done=mine.get("required_done", 0),
                required_skipped=mine.get("required_skipped", 0),
                optional_done=mine.get("optional_done", 0),
                in_progress=mine.get("in_progress", 0),
                remaining_minutes=steps.get("required_minutes", 0)
                - mine.get("finished_minutes", 0),
            )
    return result


def step_statuses_for(*, user_id: int, step_ids: Iterable[int]) -> dict[int, str]:
    """The learner's status on each step asked for (steps never touched are to do)."""
    ids = list(step_ids)
    found = dict(
        StepProgress.objects.filter(user_id=user_id, step_id__in=ids).values_list(
            "step_id", "status"
        )
    )
    return {step_id: found.get(step_id, Status.TODO) for step_id in ids}
