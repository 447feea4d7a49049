"""Two recordings of overlapping links of one run at once, the first holding its
transaction open: what each recorded, and whether the second waited for the first.
Shared by the PostgreSQL test and the SQLite one (which runs it in a process of its own)."""

import threading
from typing import Any

from django.db import connections, transaction

from apps.content.models import Resource
from apps.linkhealth import services
from apps.linkhealth.checker import CheckResult, Outcome
from apps.linkhealth.models import LinkCheckRun


def recordings_race(run: LinkCheckRun, first: list[Resource], second: list[Resource]) -> dict:
    first_recorded, commit_first = threading.Event(), threading.Event()
    recorded: dict[str, Any] = {}

    def record(name: str, batch: list[Resource], hold: bool = False) -> None:
        checked = [(r, CheckResult(url=r.url, outcome=Outcome.OK, status_code=200)) for r in batch]
        try:
            with transaction.atomic():
                results = services.link_checks_record(checked=checked, run=run)
                recorded[name] = sorted(result.url for result in results)
                if hold:
                    first_recorded.set()
                    commit_first.wait(10)
        except Exception as exc:  # reported, not raised: the thread would swallow it
            recorded[name] = repr(exc)
        finally:
            connections.close_all()

    holder = threading.Thread(target=record, args=("first", first, True))
    holder.start()
    first_recorded.wait(10)
    waiter = threading.Thread(target=record, args=("second", second))
    waiter.start()
    waiter.join(0.5)
    recorded["waited"] = waiter.is_alive()
    commit_first.set()
    holder.join(10)
    waiter.join(10)
    return recorded
