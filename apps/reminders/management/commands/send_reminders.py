from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from apps.reminders.selectors import Selection, moment_parse, reminders_due_select
from apps.reminders.services import reminders_due_schedule


class Command(BaseCommand):
    help = "Decide and send the reminders due at a moment (default now), as the beat task does."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--now", help="The moment to run for, ISO-8601 (a time without zone is UTC)."
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Print who would get which reminder and why others are skipped; send nothing.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        now = self._moment(options["now"])
        if options["dry_run"]:
            selection = reminders_due_select(now=now)
            self._report(selection)
            return
        result = reminders_due_schedule(now=now)
        self._report(result.selection)
        raced = len(result.selection.to_send) - len(result.created_ids)
        self.stdout.write(
            f"Created {len(result.created_ids)} deliveries"
            + (f" ({raced} already created by a concurrent run)." if raced else ".")
        )

    def _moment(self, value: str | None) -> datetime:
        if not value:
            return timezone.now()
        try:
            return moment_parse(value)
        except ValueError as exc:
            raise CommandError(f"--now: {value!r} is not an ISO-8601 date and time.") from exc

    def _report(self, selection: Selection) -> None:
        self.stdout.write(
            f"Window starting {selection.moment.isoformat()}: {len(selection.decisions)} learners "
            f"due, {len(selection.to_send)} to send, {len(selection.skipped)} skipped."
        )
        for decision in selection.to_send:
            self.stdout.write(
                f"  send {decision.kind:<8} {decision.email} ({decision.timezone}, "
                f"{decision.window}): {decision.reason}"
            )
        for decision in selection.skipped:
            self.stdout.write(
                f"  skip          {decision.email} ({decision.timezone}, {decision.window}): "
                f"{decision.reason}"
            )
