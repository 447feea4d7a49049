import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from apps.core.outbox import outbox_relay


class Command(BaseCommand):
    help = (
        "Publish the pending outbox messages to the broker, again and again until stopped "
        "(Ctrl-C), as the beat task does every 30 s; --once for a single pass."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="One pass, then exit.")
        parser.add_argument(
            "--interval",
            type=float,
            default=settings.OUTBOX_RELAY_INTERVAL_SECONDS,
            help="Seconds between two passes (default %(default)s).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            while True:
                result = outbox_relay()
                if options["once"] or result.sent or result.failed or result.pruned:
                    self.stdout.write(
                        f"Published {result.sent}, failed {result.failed}, "
                        f"deleted {result.pruned} old sent messages."
                    )
                if options["once"]:
                    return
                time.sleep(options["interval"])
        except KeyboardInterrupt:
            self.stdout.write("Stopped.")
