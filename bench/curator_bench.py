"""Curator dashboard benchmark: the refresh (full and incremental) and the page.

Reuses the learner web benchmark's data set (bench/web_bench.py's ``fill``: 10,000
learners, 50 tracks of 40 steps, about 1,000,000 step statuses and as many events, by
COPY), adds 20,000 sent reminders, then times:

- a full refresh (every status, event and delivery read once);
- an incremental refresh after 200 learners' status changes in 5 tracks (the beat's usual
  case), and one with nothing new (a second run: idempotent, nothing to count);
- the dashboard page (median and p95 server time, and its queries), next to a bare view.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_curator python bench/curator_bench.py

Not a pass/fail test: it prints figures for bench/RESULTS.md.
"""

import argparse
import os
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_curator")
from bench.common import ensure_database  # noqa: E402 - needs the path above
from bench.web_bench import fill, measure  # noqa: E402

REMINDERS = 20_000
CHANGES = 200
CHANGED_TRACKS = 5


def reminders(rng: random.Random) -> None:
    """Sent reminders over the last 12 weeks, one per learner and day at most."""
    from django.utils import timezone

    from apps.accounts.models import User
    from apps.reminders.models import DeliveryKind, DeliveryStatus, ReminderDelivery

    if ReminderDelivery.objects.exists():
        return
    now = timezone.now()
    users = list(User.objects.filter(email__startswith="bench").values_list("pk", flat=True))
    seen = set()
    rows = []
    while len(rows) < REMINDERS:
        user_id, day = rng.choice(users), rng.randrange(84)
        if (user_id, day) in seen:
            continue
        seen.add((user_id, day))
        sent_at = now - timedelta(days=day, minutes=rng.randrange(1440))
        rows.append(
            ReminderDelivery(
                user_id=user_id,
                kind=DeliveryKind.REMINDER,
                window=f"day-{day}",
                due_at=sent_at,
                status=DeliveryStatus.SENT,
                sent_at=sent_at,
            )
        )
    ReminderDelivery.objects.bulk_create(rows, batch_size=5_000)


def changes(rng: random.Random) -> None:
    """CHANGES learners each change one step's status in one of CHANGED_TRACKS tracks."""
    from apps.accounts.models import User
    from apps.content.models import Step, Track
    from apps.progress.services import step_status_set

    tracks = list(Track.objects.filter(slug__startswith="bench-track-").order_by("pk"))
    chosen = rng.sample(tracks, CHANGED_TRACKS)
    steps = {t.pk: list(Step.objects.filter(track=t)) for t in chosen}
    learners = list(User.objects.filter(email__startswith="bench").order_by("?")[:CHANGES])
    for learner in learners:
        track = rng.choice(chosen)
        step_status_set(
            user=learner,
            step=rng.choice(steps[track.pk]),
            status=rng.choice(["done", "skipped", "in_progress"]),
        )


def timed(label: str, **kwargs) -> None:
    from apps.curation.services import curation_refresh

    started = time.perf_counter()
    result = curation_refresh(**kwargs)
    seconds = time.perf_counter() - started
    print(
        f"{label:<34} {seconds:>8.2f} s  events read {result.events_read:>9,}  "
        f"tracks {len(result.tracks):>3}  weeks {len(result.weeks):>3}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    ensure_database()

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    from apps.accounts.models import User
    from apps.progress.models import ProgressEvent, StepProgress

    settings.ROOT_URLCONF = "bench.web_urls"
    settings.ALLOWED_HOSTS = ["*"]
    setup_test_environment()
    call_command("migrate", verbosity=0)
    rng = random.Random(42)
    fill(rng)
    reminders(rng)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(
        f"step statuses: {StepProgress.objects.count():,}  events: "
        f"{ProgressEvent.objects.count():,}  learners: {User.objects.count():,}\n"
    )
    timed("full refresh", full=True)
    timed("incremental, nothing new")
    changes(rng)
    timed(f"incremental, {CHANGES} changes in {CHANGED_TRACKS} tracks")
    timed("incremental again (idempotent)")

    curator = User.objects.filter(email="curator@bench.example").first() or (
        User.objects.create_user(email="curator@bench.example", password="x", is_staff=True)
    )
    client = Client()
    client.force_login(curator)
    print(f"\n{'page':<22} {'median ms':>10} {'p95 ms':>8} {'queries':>8}")
    for name, url in (
        ("bare view", "/bench/bare/"),
        ("curator dashboard", "/staff/curation/"),
    ):
        median, p95, queries = measure(client, url, args.runs)
        print(f"{name:<22} {median:>10.2f} {p95:>8.2f} {queries:>8}")


if __name__ == "__main__":
    main()
