"""Check resource links now, in this process, and print what was found."""

import json
from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone
from tqdm import tqdm

from apps.content.models import Resource
from apps.linkhealth.checker import CheckResult, check_url
from apps.linkhealth.models import LinkCheckRun
from apps.linkhealth.outcomes import CHECK_CHOICES, Outcome
from apps.linkhealth.selectors import links_due
from apps.linkhealth.services import link_check_run_create, link_chunk_check


class Command(BaseCommand):
    help = (
        "Check the due resource links now (or --all), record the results and print a "
        "summary by outcome. --url URL checks one URL without saving anything."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--all", action="store_true", help="Check every link, due or not.")
        parser.add_argument("--url", help="Check this one URL; nothing is saved.")
        parser.add_argument("--json", action="store_true", help="With --url: print JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["url"]:
            self._one(options["url"], as_json=options["json"])
            return
        queryset = Resource.objects.all() if options["all"] else links_due(now=timezone.now())
        ids = list(queryset.values_list("pk", flat=True))
        if not ids:
            self.stdout.write("No links are due.")
            return
        run, _ = link_check_run_create(kind=LinkCheckRun.Kind.COMMAND, resource_ids=ids)
        show = options["verbosity"] > 0
        with tqdm(total=run.total, unit="link", disable=not show, file=self.stderr) as bar:

            def advance(result: CheckResult) -> None:
                bar.set_postfix_str(str(result.outcome), refresh=False)
                bar.update(1)

            results = link_chunk_check(run_id=run.pk, on_result=advance)
        self._summary(results)

    def _one(self, url: str, *, as_json: bool) -> None:
        result = check_url(url)
        data = result.as_dict()
        if as_json:
            self.stdout.write(json.dumps(data, ensure_ascii=False))
            return
        for key in ("url", "outcome", "status_code", "final_url", "redirects", "elapsed_ms"):
            self.stdout.write(f"{key:>12}  {data[key]}")
        if result.detail:
            self.stdout.write(f"{'detail':>12}  {result.detail}")
        if result.suggested_url:
            self.stdout.write(f"{'suggested':>12}  {result.suggested_url}")

    def _summary(self, results: list[CheckResult]) -> None:
        counts = Counter(str(r.outcome) for r in results)
        width = max(len(value) for value, _ in CHECK_CHOICES)
        self.stdout.write("")
        self.stdout.write(f"{'outcome':<{width}}  {'links':>6}")
        self.stdout.write(f"{'-' * width}  {'-' * 6}")
        for value, _ in CHECK_CHOICES:
            self.stdout.write(f"{value:<{width}}  {counts.get(value, 0):>6}")
        self.stdout.write(f"{'total':<{width}}  {len(results):>6}")
        problems = sorted(
            (r for r in results if r.outcome != Outcome.OK), key=lambda r: (r.outcome, r.url)
        )
        if problems:
            self.stdout.write("")
            for r in problems:
                status = r.status_code if r.status_code is not None else "-"
                extra = f" → {r.suggested_url}" if r.suggested_url else ""
                self.stdout.write(f"{r.outcome.value:<{width}}  {status!s:>3}  {r.url}{extra}")
                if r.detail:
                    self.stdout.write(f"{'':<{width}}       {r.detail}")
