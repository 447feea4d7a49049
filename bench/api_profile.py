"""Where a signed-in GET tracks/{slug}/ spends its time, against the bare DRF endpoint:
both driven in-process (the whole middleware stack, production settings) on PostgreSQL,
with per-request time, queries and a cProfile of the track answers.

    DATABASE_URL=postgres://... REDIS_URL=redis://.../8 python bench/api_profile.py [--requests 300]

Not a pass/fail test: it prints figures for bench/RESULTS.md.
"""

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench import stack  # noqa: E402 - needs the path above
from bench.common import ensure_database  # noqa: E402

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/stepwise_api_profile")
PASSWORD = "bench-passphrase-42"  # noqa: S105 - a throwaway benchmark account


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--top", type=int, default=35)
    args = parser.parse_args()

    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14")
    os.environ.update(
        stack.production_env(
            redis_url=redis_url,
            DJANGO_SETTINGS_MODULE="bench.api_settings",
            API_THROTTLE_ANON="1000000000/min",
            API_THROTTLE_USER="1000000000/min",
        )
    )
    ensure_database()
    import django

    django.setup()
    from django.core.cache import caches
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Count
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from apps.accounts.models import User
    from apps.accounts.services import user_create
    from apps.content.models import Track
    from apps.progress.models import Status
    from apps.progress.services import step_status_set

    call_command("migrate", verbosity=0)
    call_command("load_roadmaps", verbosity=0)
    for alias in ("default", "fragments"):
        caches[alias].clear()
    track = (
        Track.objects.filter(is_published=True)
        .annotate(n=Count("steps"))
        .order_by("-n", "slug")
        .first()
    )
    assert track is not None
    email = "profile-learner@bench.example.com"
    user = User.objects.filter(email=email).first() or user_create(
        email=email, password=PASSWORD, email_verified=True
    )
    for n, step in enumerate(track.steps.order_by("position")[:10]):
        step_status_set(user=user, step=step, status=[Status.DONE, Status.IN_PROGRESS][n % 2])

    client = Client(SERVER_NAME="127.0.0.1")
    login = client.post(
        "/_allauth/app/v1/auth/login",
        {"email": email, "password": PASSWORD},
        content_type="application/json",
    )
    assert login.status_code == 200, login.content
    headers = {"X-Session-Token": login.json()["meta"]["session_token"]}
    paths = {
        "track": f"/api/v1/tracks/{track.slug}/",
        "bare": "/api/v1/bench/constant/",
    }

    def run(path: str, count: int) -> float:
        began = time.perf_counter()
        for _ in range(count):
            response = client.get(path, headers=headers)
            assert response.status_code == 200, response.status_code
        return (time.perf_counter() - began) * 1000 / count

    for path in paths.values():
        run(path, 20)  # warm: caches filled, code paths loaded
    timings = {name: run(path, args.requests) for name, path in paths.items()}
    queries = {}
    for name, path in paths.items():
        with CaptureQueriesContext(connection) as captured:
            client.get(path, headers=headers)
        queries[name] = [q["sql"][:150] for q in captured.captured_queries]

    profiler = cProfile.Profile()
    profiler.enable()
    run(paths["track"], args.requests)
    profiler.disable()

    print(f"GET {paths['track']} ({track.steps.count()} steps), {args.requests} requests each")
    for name in paths:
        print(f"  {name}: {timings[name]:.2f} ms per request, {len(queries[name])} queries")
        for sql in queries[name]:
            print(f"      {sql}")
    print(f"  track / bare time: {timings['track'] / timings['bare']:.2f}x")
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
    stats.print_stats(args.top)
    print(out.getvalue())
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(args.top)
    print(out.getvalue())


if __name__ == "__main__":
    main()
