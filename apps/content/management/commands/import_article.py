from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.content.importer import (
    Draft,
    article_propose,
    document_yaml,
    draft_document,
    draft_steps_final,
)
from apps.content.models import Resource, Track
from apps.content.services import track_import
from apps.core.errors import ApplicationError
from apps.core.templatetags.stepwise import duration


class Command(BaseCommand):
    help = (
        "Propose a track from a roadmap article in Markdown (with or without front matter): "
        "headings become steps, links resources (stored ones reused), durations and prices "
        "suggestions. --dry-run prints the proposal; --yaml writes it as a roadmap file for "
        "load_roadmaps; otherwise it is saved as an unpublished track (--publish to publish). "
        "Never fetches a link."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, metavar="PATH", help="The article (UTF-8).")
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument(
            "--dry-run", action="store_true", help="Print the proposed track; write nothing."
        )
        mode.add_argument(
            "--yaml",
            action="store_true",
            help="Write the proposal as a roadmap file (see --output) instead of saving it.",
        )
        parser.add_argument(
            "--output",
            "-o",
            type=Path,
            help="With --yaml: the file to write (default: SLUG.yaml here; - for the screen).",
        )
        parser.add_argument("--force", action="store_true", help="With --yaml: overwrite.")
        parser.add_argument("--slug", default="", help="The track's address (default: its title).")
        parser.add_argument("--level", choices=Track.Level.values, default="")
        parser.add_argument("--goal", default="")
        parser.add_argument(
            "--publish", action="store_true", help="Publish the track (default: unpublished)."
        )

    def handle(self, *args: Any, path: Path, **options: Any) -> None:
        try:
            text = path.read_text(encoding="utf-8-sig")
        except FileNotFoundError as exc:
            raise CommandError(f"{path}: no such file.") from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"{path}: cannot be read as UTF-8 text ({exc}).") from exc
        try:
            draft = article_propose(
                text,
                name=path.stem.replace("-", " ").replace("_", " "),
                slug=options["slug"],
                level=options["level"],
                goal=options["goal"],
            )
        except ApplicationError as exc:
            raise CommandError(f"{path}: {exc.message}") from exc
        for warning in draft.warnings:
            self.stderr.write(f"note: {warning}")

        if options["dry_run"]:
            self._print(draft)
            return
        if options["yaml"]:
            self._write_yaml(
                draft, options["output"], force=options["force"], published=options["publish"]
            )
            return
        document = draft_document(draft, published=options["publish"])
        try:
            track = track_import(document=document, name=str(path))
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        state = "published" if track.is_published else "saved unpublished"
        self.stdout.write(
            self.style.SUCCESS(
                f"Track “{track.title}” ({track.slug}) {state}: review it in the admin."
            )
        )

    def _write_yaml(
        self, draft: Draft, output: Path | None, *, force: bool, published: bool
    ) -> None:
        urls = [link.url for step in draft.steps for link in step.links]
        existing = {r.url: r for r in Resource.objects.filter(url__in=urls)}
        document = draft_document(draft, published=published, existing=existing)
        text = (
            "# Proposed by import_article: check titles, minutes, kinds and choices, then\n"
            "# load it with: python manage.py load_roadmaps THIS-FILE\n" + document_yaml(document)
        )
        if output is not None and str(output) == "-":
            self.stdout.write(text, ending="")
            return
        target = output or Path(f"{draft.slug}.yaml")
        if target.exists() and not force:
            raise CommandError(f"{target} exists; use --force to overwrite it.")
        target.write_text(text, encoding="utf-8")
        self.stdout.write(self.style.SUCCESS(f"Wrote {target}."))

    def _print(self, draft: Draft) -> None:
        out = self.stdout.write
        out(f"Track: {draft.title} ({draft.slug}), {draft.level}")
        if draft.summary:
            out(f"  {draft.summary}")
        for number, step in enumerate(draft.steps, start=1):
            flags = [
                f"~{duration(step.minutes)}",
                *(["optional"] if step.optional else []),
                *([f"choice: {step.choice}"] if step.choice else []),
                *(["left out"] if not step.keep else []),
            ]
            out(f"{number:>3}. {step.title} [{step.key}] ({', '.join(flags)})")
            if step.hint:
                out(f"       {step.hint}")
            for link in step.links:
                resource = draft.resources[link.url]
                stored = f"stored #{resource.existing_id}" if resource.existing_id else "new"
                extra = ", ".join(v for v in (resource.kind, resource.cost, resource.duration) if v)
                out(f"       - {resource.title} <{link.url}> ({extra}; {stored})")
                if link.note:
                    out(f"         {link.note}")
        kept = draft_steps_final(draft)
        new = sum(1 for r in draft.resources.values() if r.existing_id is None)
        out(
            f"{len(kept)} step(s) kept, {len(draft.resources)} resource(s): {new} new, "
            f"{len(draft.resources) - new} already stored. Nothing was written (--dry-run)."
        )
