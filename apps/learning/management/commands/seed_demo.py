from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from apps.accounts.models import User
from apps.accounts.services import curators_group_ensure, user_create
from apps.content.models import Step
from apps.progress.models import Source, Status
from apps.progress.services import step_status_set

CURATOR = ("curator@stepwise.localhost", "curate-the-roadmaps")
LEARNER = ("learner@stepwise.localhost", "learn-step-by-step")


class Command(BaseCommand):
    help = "Create a demo curator (staff) and a demo learner with some progress; print logins."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        group = curators_group_ensure()
        curator = User.objects.filter(email=CURATOR[0]).first()
        if curator is None:
            curator = user_create(
                email=CURATOR[0],
                password=CURATOR[1],
                display_name="Demo curator",
                is_staff=True,
                email_verified=True,
            )
        curator.groups.add(group)

        learner = User.objects.filter(email=LEARNER[0]).first()
        if learner is None:
            learner = user_create(
                email=LEARNER[0],
                password=LEARNER[1],
                display_name="Demo learner",
                timezone="Europe/London",
                email_verified=True,
            )
            steps = list(
                Step.objects.filter(track__is_published=True).order_by(
                    "track__position", "position"
                )[:6]
            )
            if not steps:
                raise CommandError("No published steps: run `manage.py load_roadmaps` first.")
            plan = [Status.DONE, Status.DONE, Status.DONE, Status.SKIPPED, Status.IN_PROGRESS]
            for step, status in zip(steps, plan, strict=False):
                step_status_set(user=learner, step=step, status=status, source=Source.ADMIN)

        self.stdout.write(self.style.SUCCESS("Demo accounts ready:"))
        self.stdout.write(f"  curator (admin at /admin/): {CURATOR[0]} / {CURATOR[1]}")
        self.stdout.write(f"  learner:                    {LEARNER[0]} / {LEARNER[1]}")
