from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.curation.services import curation_refresh


class Command(BaseCommand):
    help = "Refresh the curator dashboard's figures (what changed since the last run, or all)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--full", action="store_true", help="Count everything again.")

    def handle(self, *args: Any, full: bool = False, **options: Any) -> None:
        result = curation_refresh(full=full)
        self.stdout.write(
            f"{'Full' if result.full else 'Incremental'} refresh: {result.events_read} events "
            f"read, {len(result.tracks)} tracks and {len(result.weeks)} weeks recounted "
            f"in {result.duration_ms} ms."
        )
