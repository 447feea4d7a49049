"""Learner web benchmark: the dashboard and a track page on a large PostgreSQL database.

Fills PostgreSQL with 10,000 learners, 50 tracks of 40 steps and about 1,000,000 step
statuses with as many events (COPY, in bulk), then times the dashboard and a track page
for a learner enrolled in 20 tracks, next to a bare Django view, in the same process,
and an htmx status click on a step of that track (done and to do by turns).
Server time is measured around Django's request handling (test client, no network).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/stepwise_bench python bench/web_bench.py

Not a pass/fail test: it prints figures for bench/RESULTS.md.
"""

import argparse
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import ensure_database  # noqa: E402 - needs the path above

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/stepwise_bench")

LEARNERS = 10_000
TRACKS = 50
STEPS_PER_TRACK = 40
TRACKS_PER_LEARNER = 5  # 10,000 x 5 tracks x 20 statuses = 1,000,000 statuses
STATUSES_PER_TRACK = 20
HERO_TRACKS = 20


def fill(rng: random.Random) -> None:
    from django.db import connection, transaction
    from django.utils import timezone

    from apps.accounts.models import User
    from apps.content.models import Resource, Step, StepResource, Track

    if Track.objects.filter(slug="bench-track-0").exists():
        print("data already present; reusing it (drop the database to refill)")
        return
    started = time.perf_counter()
    now = timezone.now()
    with transaction.atomic():
        tracks = Track.objects.bulk_create(
            Track(
                slug=f"bench-track-{t}",
                title=f"Bench track {t}",
                level="beginner",
                goal=f"Goal {t % 5}",
                is_published=True,
                position=t,
            )
            for t in range(TRACKS)
        )
        steps = Step.objects.bulk_create(
            Step(
                track=track,
                key=f"s{i}",
                position=i,
                title=f"Step {i} of {track.title}",
                description="Read **this** and then *that*.",
                estimated_minutes=30 + i,
            )
            for track in tracks
            for i in range(STEPS_PER_TRACK)
        )
        resources = Resource.objects.bulk_create(
            Resource(url=f"https://example.org/r/{n}", title=f"Resource {n}", kind="course")
            for n in range(TRACKS * STEPS_PER_TRACK)
        )
        StepResource.objects.bulk_create(
            StepResource(step=step, resource=resources[n], position=1)
            for n, step in enumerate(steps)
        )
        through = Step.prerequisites.through
        through.objects.bulk_create(
            through(from_step_id=steps[n].pk, to_step_id=steps[n - 1].pk)
            for n in range(len(steps))
            if n % STEPS_PER_TRACK
        )
        User.objects.bulk_create(
            User(email=f"bench{u}@example.com", password="!", display_name=f"Bench {u}")
            for u in range(LEARNERS)
        )
    user_ids = list(User.objects.filter(email__startswith="bench").values_list("pk", flat=True))
    steps_by_track: dict[int, list[int]] = {}
    for step_id, track_id in Step.objects.filter(track__in=tracks).values_list("pk", "track_id"):
        steps_by_track.setdefault(track_id, []).append(step_id)
    track_ids = list(steps_by_track)

    statuses = ["done", "done", "done", "in_progress", "skipped"]
    with connection.cursor() as cursor:
        raw = cursor.connection
        with raw.cursor() as cur:
            with cur.copy(
                "COPY progress_enrollment (user_id, track_id, started_at, "
                "last_activity_at) FROM STDIN"
            ) as copy:
                plan = {}
                for user_id in user_ids:
                    chosen = rng.sample(track_ids, TRACKS_PER_LEARNER)
                    plan[user_id] = chosen
                    for track_id in chosen:
                        copy.write_row((user_id, track_id, now - timedelta(days=90), now))
            with cur.copy(
                "COPY progress_stepprogress (user_id, step_id, status, "
                "status_changed_at, started_at, completed_at, updated_at) "
                "FROM STDIN"
            ) as copy:
                for user_id, chosen in plan.items():
                    for track_id in chosen:
                        for step_id in steps_by_track[track_id][:STATUSES_PER_TRACK]:
                            when = now - timedelta(minutes=rng.randrange(0, 84 * 24 * 60))
                            status = rng.choice(statuses)
                            copy.write_row(
                                (
                                    user_id,
                                    step_id,
                                    status,
                                    when,
                                    when,
                                    when if status == "done" else None,
                                    when,
                                )
                            )
            with cur.copy(
                "COPY progress_progressevent (user_id, step_id, from_status, "
                "to_status, occurred_at, recorded_at, source) FROM STDIN"
            ) as copy:
                for user_id, chosen in plan.items():
                    for track_id in chosen:
                        for step_id in steps_by_track[track_id][:STATUSES_PER_TRACK]:
                            when = now - timedelta(minutes=rng.randrange(0, 84 * 24 * 60))
                            copy.write_row(
                                (user_id, step_id, "todo", rng.choice(statuses), when, when, "web")
                            )
        cursor.execute("ANALYZE")
    print(f"filled in {time.perf_counter() - started:.1f} s")


def hero(rng: random.Random, tracks: int, email: str):
    """A learner enrolled in ``tracks`` tracks with a few months of history."""
    from django.utils import timezone

    from apps.accounts.models import User
    from apps.content.models import Step, Track
    from apps.progress.services import step_status_set

    user = User.objects.filter(email=email).first()
    if user:
        return user
    user = User.objects.create_user(email=email, password="bench-password")
    for track in Track.objects.filter(slug__startswith="bench-track-").order_by("pk")[:tracks]:
        for step in Step.objects.filter(track=track).order_by("position")[:25]:
            when = timezone.now() - timedelta(days=rng.randrange(0, 80), minutes=rng.randrange(600))
            step_status_set(
                user=user, step=step, status=rng.choice(["done", "in_progress"]), occurred_at=when
            )
    return user


CLICK_STATUSES = ("done", "todo")


def _request(client, url: str, n: int):
    """A GET of ``url``; or, for a step's status URL, an htmx click that marks the step
    done and to do by turns (the step has a dependent, so its notice is sent too). A URL
    ending in ``#cold`` is fetched with no fragment cached, as after a change."""
    if url.endswith("#cold"):
        return client.get(url.removesuffix("#cold"))
    if url.endswith("/status/"):
        status = CLICK_STATUSES[n % 2]
        return client.post(url, {"status": status}, HTTP_HX_REQUEST="true")
    return client.get(url)


def measure(client, url: str, runs: int) -> tuple[float, float, int]:
    from django.core.cache import caches
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for n in range(6):  # warm up
        assert _request(client, url, n).status_code == 200, url
    if url.endswith("#cold"):
        caches["default"].clear()
    with CaptureQueriesContext(connection) as ctx:
        _request(client, url, 0)
    queries = len(ctx.captured_queries)  # read now: every request start clears the log
    times = []
    for n in range(1, runs + 1):
        if url.endswith("#cold"):
            caches["default"].clear()
        start = time.perf_counter()
        response = _request(client, url, n)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1], queries


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    ensure_database()

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment

    settings.ROOT_URLCONF = "bench.web_urls"
    settings.ALLOWED_HOSTS = ["*"]
    settings.STEPWISE_WEB_STATUS_CHANGES_PER_MINUTE = 10**9  # the click is timed in a loop
    setup_test_environment()
    call_command("migrate", verbosity=0)
    rng = random.Random(42)
    fill(rng)
    big = hero(rng, HERO_TRACKS, "hero20@example.com")
    small = hero(rng, 1, "hero1@example.com")

    from apps.progress.models import ProgressEvent, StepProgress

    print(
        f"step statuses: {StepProgress.objects.count():,}  events: "
        f"{ProgressEvent.objects.count():,}"
    )
    # The 20-track learner shows 6 of their tracks on a public page (a visitor's view).
    from apps.content.models import Track
    from apps.learning.public import public_profile_update

    shown = list(
        Track.objects.filter(enrollments__user=big).order_by("pk").values_list("pk", flat=True)
    )[:6]
    public_profile_update(user=big, handle="bench-hero", is_public=True, track_ids=shown)
    badge_slug = Track.objects.get(pk=shown[0]).slug

    rows = []
    for label, user in (("20 tracks", big), ("1 track", small)):
        client = Client()
        client.force_login(user)
        for name, url in (
            ("bare view", "/bench/bare/"),
            ("dashboard", "/dashboard/"),
            ("dashboard, cold", "/dashboard/#cold"),
            ("track page", "/tracks/bench-track-0/"),
            ("track page, cold", "/tracks/bench-track-0/#cold"),
            ("htmx click", "/tracks/bench-track-0/steps/s30/status/"),
            *(
                (
                    ("public page (6 maps)", "/u/bench-hero/"),
                    ("public page, cold", "/u/bench-hero/#cold"),
                    ("badge", f"/u/bench-hero/{badge_slug}.svg"),
                )
                if user == big
                else ()
            ),
        ):
            median, p95, queries = measure(client, url, args.runs)
            rows.append((label, name, median, p95, queries))
    bare = {label: median for label, name, median, _, _ in rows if name == "bare view"}
    print(
        f"\n{'learner':<10} {'page':<21} {'median ms':>10} {'p95 ms':>8} {'queries':>8} "
        f"{'x bare':>7}"
    )
    for label, name, median, p95, queries in rows:
        print(
            f"{label:<10} {name:<21} {median:>10.2f} {p95:>8.2f} {queries:>8} "
            f"{median / bare[label]:>7.1f}"
        )


if __name__ == "__main__":
    main()
