"""REST API benchmark: GET tracks/{slug}/ against a bare DRF endpoint, and a 500-change sync.

Under gunicorn (2 workers) on PostgreSQL, with the built-in roadmaps plus the learner
web benchmark's data (bench/web_bench.py) when that script is present. Locust (headless,
same machine) drives one endpoint at a time for the same duration and users, in two halves
(bare, track, track, bare): a signed-in learner's GET tracks/{slug}/ and GET
bench/constant/ (a DRF view returning a constant, which only this benchmark's server has:
bench/api_urls.py). Then POST progress/sync/ with 500 operations is timed one request at
a time.

    make bench-api        # or: python bench/api_bench.py [--seconds 30] [--users 16]

DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/stepwise_api_bench.
Not a pass/fail test: it prints figures for bench/RESULTS.md.
"""

import argparse
import csv
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench import stack  # noqa: E402 - needs the path above
from bench.common import ensure_database  # noqa: E402

# The same password hashers as the server (test settings would store MD5 hashes).
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.dev"
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/stepwise_api_bench")
BIN = Path(sys.executable).parent
PASSWORD = "bench-passphrase-42"  # noqa: S105 - a throwaway benchmark account
UNLIMITED = "1000000000/min"


def prepare(with_web_data: bool) -> tuple[str, list[int]]:
    """Migrate, load data; return the slug of the biggest roadmap and all published steps."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db.models import Count

    from apps.content.models import Step, Track

    call_command("migrate", verbosity=0)
    call_command("load_roadmaps", verbosity=0)
    if with_web_data and (ROOT / "bench" / "web_bench.py").exists():
        from bench import web_bench

        web_bench.fill(random.Random(7))
    # The biggest published track: a roadmap, or one of the web benchmark's 40-step tracks.
    track = (
        Track.objects.filter(is_published=True)
        .annotate(n=Count("steps"))
        .order_by("-n", "slug")
        .first()
    )
    assert track is not None, "no roadmap loaded"
    steps = list(
        Step.objects.filter(track__is_published=True).order_by("id").values_list("id", flat=True)
    )
    return track.slug, steps


def learner(email: str) -> None:
    from apps.accounts.models import User
    from apps.accounts.services import user_create

    existing = User.objects.filter(email=email).first()
    if existing is None:
        user_create(email=email, password=PASSWORD, email_verified=True)
    else:
        existing.set_password(PASSWORD)
        existing.save(update_fields=["password"])


def login(base: str, email: str) -> str:
    response = httpx.post(
        f"{base}/_allauth/app/v1/auth/login", json={"email": email, "password": PASSWORD}
    )
    if response.status_code != 200:
        raise SystemExit(f"login failed: {response.status_code} {response.text}")
    return response.json()["meta"]["session_token"]


def serve(port: int) -> subprocess.Popen:
    import redis

    # Production refuses to start without a shared cache: a spare database of the shared
    # Redis, emptied first, so no answer cached from an earlier data set is served.
    redis_url = os.environ.get("API_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
    redis.Redis.from_url(redis_url).flushdb()
    env = stack.production_env(
        redis_url=redis_url,
        # Production settings, plus the bare endpoint (bench/api_urls.py).
        DJANGO_SETTINGS_MODULE="bench.api_settings",
        API_THROTTLE_ANON=UNLIMITED,
        API_THROTTLE_USER=UNLIMITED,
        API_THROTTLE_SYNC=UNLIMITED,
    )
    server = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "config.wsgi:application",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    for _ in range(100):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    server.terminate()
    raise SystemExit("gunicorn did not start")


def load(base: str, target: str, token: str, slug: str, users: int, seconds: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        prefix = f"{tmp}/{target}"
        subprocess.run(
            [
                str(BIN / "locust"),
                "-f",
                str(ROOT / "bench" / "api_locustfile.py"),
                "--headless",
                "--only-summary",
                "--users",
                str(users),
                "--spawn-rate",
                str(users),
                "--run-time",
                f"{seconds}s",
                "--host",
                base,
                "--csv",
                prefix,
                "--loglevel",
                "WARNING",
            ],
            env={**os.environ, "BENCH_TARGET": target, "BENCH_TOKEN": token, "BENCH_SLUG": slug},
            check=True,
            capture_output=True,
        )
        with open(f"{prefix}_stats.csv") as stats:
            row = next(r for r in csv.DictReader(stats) if r["Name"] == target)
    return {
        "requests": int(row["Request Count"]),
        "failures": int(row["Failure Count"]),
        "rps": float(row["Requests/s"]),
        "median": float(row["Median Response Time"]),
        "p95": float(row["95%"]),
    }


def combined(halves: list[dict]) -> dict:
    """Two runs of one endpoint as one: counts added, rates and times averaged."""
    return {
        "requests": sum(h["requests"] for h in halves),
        "failures": sum(h["failures"] for h in halves),
        **{k: statistics.mean(h[k] for h in halves) for k in ("rps", "median", "p95")},
    }


def time_syncs(base: str, steps: list[int], runs: int) -> list[float]:
    """Each run: a new learner's phone syncs 500 changes queued offline (worst case: every
    change applies, rows and events are created, tracks are enrolled)."""
    from django.utils import timezone

    rng = random.Random(3)
    start = timezone.now() - timedelta(days=2)
    timings = []
    with httpx.Client(timeout=30) as client:
        for run in range(runs + 1):
            email = f"sync-{uuid.uuid4().hex[:8]}@bench.example.com"
            learner(email)
            token = login(base, email)
            ops = [
                {
                    "op_id": str(uuid.uuid4()),
                    "step": steps[n % len(steps)],
                    "status": rng.choice(["in_progress", "done", "skipped", "todo"]),
                    "occurred_at": (start + timedelta(seconds=n)).isoformat(),
                }
                for n in range(500)
            ]
            began = time.perf_counter()
            response = client.post(
                f"{base}/api/v1/progress/sync/",
                json={"operations": ops},
                headers={"X-Session-Token": token},
            )
            elapsed = (time.perf_counter() - began) * 1000
            response.raise_for_status()
            assert len(response.json()["results"]) == 500
            if run:  # the first one warms the worker up
                timings.append(elapsed)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--syncs", type=int, default=30)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--no-web-data", action="store_true")
    args = parser.parse_args()

    ensure_database()
    slug, steps = prepare(with_web_data=not args.no_web_data)
    learner("bench-learner@bench.example.com")
    server = serve(args.port)
    base = f"http://127.0.0.1:{args.port}"
    try:
        token = login(base, "bench-learner@bench.example.com")
        detail = httpx.get(f"{base}/api/v1/tracks/{slug}/", headers={"X-Session-Token": token})
        body = detail.json()
        size = (len(body["steps"]), sum(len(s["resources"]) for s in body["steps"]))
        # Warm both workers up, then each endpoint for the same users and duration, in
        # two halves run bare, track, track, bare: a change of load on the shared machine
        # during the run weighs on both alike.
        load(base, "track", token, slug, args.users, 5)
        half = max(args.seconds // 2, 1)
        runs: dict[str, list[dict]] = {"bare": [], "track": []}
        for target in ("bare", "track", "track", "bare"):
            runs[target].append(load(base, target, token, slug, args.users, half))
        bare, track = (combined(runs[target]) for target in ("bare", "track"))
        syncs = time_syncs(base, steps, args.syncs)
    finally:
        server.terminate()
        server.wait(10)

    print(
        f"\nGET tracks/{slug}/ ({size[0]} steps, {size[1]} resources, {len(detail.content)} bytes)"
    )
    print(
        f"gunicorn 2 workers, locust {args.users} users x {args.seconds}s per endpoint "
        "(two halves: bare, track, track, bare)\n"
    )
    print("| endpoint | requests | failures | req/s | median ms | p95 ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, figures in (
        (f"GET tracks/{slug}/ (signed in)", track),
        ("GET bench/constant/", bare),
    ):
        print(
            f"| {name} | {figures['requests']} | {figures['failures']} | {figures['rps']:.0f} "
            f"| {figures['median']:.0f} | {figures['p95']:.0f} |"
        )
    ratio = track["rps"] / bare["rps"]
    print(f"\nratio: {ratio:.0%} of the bare endpoint's throughput (goal >= 60 %)")
    quantiles = statistics.quantiles(syncs, n=20)
    print(
        f"POST progress/sync/ with 500 operations, {len(syncs)} runs: median "
        f"{statistics.median(syncs):.0f} ms, p95 {quantiles[18]:.0f} ms, "
        f"min {min(syncs):.0f} ms (goal: median < 300 ms)"
    )


if __name__ == "__main__":
    main()
