from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.content.roadmaps import roadmap_paths
from apps.content.services import roadmaps_load
from apps.core.errors import ApplicationError


class Command(BaseCommand):
    help = (
        "Load roadmap files (YAML, one track per file) into the database, all or nothing. "
        "Without PATH, loads every built-in roadmap. Safe to run again: unchanged files "
        "change nothing and edited files update in place, keeping learners' progress."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "paths",
            nargs="*",
            type=Path,
            metavar="PATH",
            help="Roadmap files or folders of them (default: the built-in ones).",
        )

    def handle(self, *args: Any, paths: list[Path], **options: Any) -> None:
        files = roadmap_paths(paths, settings.STEPWISE_ROADMAPS_DIR)
        if not files:
            raise CommandError("No roadmap files found.")
        try:
            report = roadmaps_load(paths=files)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"Read {len(files)} file(s).")
        for name in ("tracks", "steps", "groups", "resources", "links"):
            self.stdout.write(f"  {name:<10} {getattr(report, name)}")
        if report.changed:
            self.stdout.write(self.style.SUCCESS("Roadmaps loaded."))
        else:
            self.stdout.write(self.style.SUCCESS("Roadmaps already up to date; nothing changed."))
