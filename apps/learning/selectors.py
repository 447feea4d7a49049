"""What a learner sees, composed from content, progress and link health."""

from dataclasses import dataclass

from apps.accounts.models import User
from apps.content.models import Step, Track
from apps.content.selectors import track_steps
from apps.linkhealth.selectors import resource_health_for
from apps.progress.models import Status
from apps.progress.selectors import Completion, completion_for, step_statuses_for


@dataclass(frozen=True)
class StepView:
    step: Step
    status: str
    #: Prerequisites not yet done or skipped (the step can still be marked).
    waiting_on: list[Step]


@dataclass(frozen=True)
class TrackView:
    steps: list[StepView]
    completion: Completion | None
    #: Each resource's link health (``unknown``, ``ok``, ``broken``...), by resource id.
    link_health: dict[int, str]


def track_view_for(*, track: Track, user: User | None) -> TrackView:
    """The track's steps with the learner's status on each and their completion.

    Steps come from ``track_steps`` (3 queries: steps, prerequisites, resources), then
    1 for the resources' link health; a signed-in learner adds 3 more (statuses, and
    the 2 of ``completion_for``).
    """
    steps = list(track_steps(track=track))
    health = resource_health_for(
        link.resource_id for step in steps for link in step.step_resources.all()
    )
    if user is None or not user.is_authenticated:
        return TrackView([StepView(step, Status.TODO, []) for step in steps], None, health)
    statuses = step_statuses_for(user_id=user.pk, step_ids=[s.pk for s in steps])
    finished = {Status.DONE, Status.SKIPPED}
    views = [
        StepView(
            step,
            statuses[step.pk],
            [p for p in step.prerequisites.all() if statuses.get(p.pk) not in finished],
        )
        for step in steps
    ]
    completion = completion_for(user_ids=[user.pk], track_ids=[track.pk])[(user.pk, track.pk)]
    return TrackView(views, completion, health)
