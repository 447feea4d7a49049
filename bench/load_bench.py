"""Load benchmark: 200 learners and visitors on the web and the API at once, under production.

Builds (once) the learner web benchmark's data set (bench/web_bench.py: 10,000 learners,
50 tracks of 40 steps, about 1,000,000 statuses) and makes its first N learners able to
sign in (a verified address, a known password hashed once with production's hasher).
Then it runs the stack as production does, on loopback: gunicorn from gunicorn.conf.py
under config.settings.production, a redis-server of the bench's own (cache and broker),
a Celery worker and the outbox relay (``manage.py relay_outbox``), and drives it with
locust (bench/load_locustfile.py, headless). Afterwards it checks every tick the load was
told was saved against the database (lost writes) and prints a table per endpoint.

With ``--redis-outage`` the app's Redis is stopped 20 s into the run and started again at
40 s (with ``--freeze`` as well, it stops answering instead); the bench then waits for the
outbox to drain and the queued link checks to run.

Per-client limits (API throttles, web status changes, link reports) are raised: every
simulated user comes from 127.0.0.1. allauth's own sign-in limits are left as they are.

    make bench-load       # a plain run, then an outage run
    python bench/load_bench.py [--users 200] [--seconds 60] [--redis-outage]

DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/stepwise_load.
Not a pass/fail test: it prints figures for bench/RESULTS.md.
"""

import argparse
import csv
import json
import os
import random
import re
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench import stack  # noqa: E402 - needs the path above
from bench.common import ensure_database  # noqa: E402

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/stepwise_load")
PASSWORD = "load-bench-passphrase-42"  # noqa: S105 - throwaway benchmark accounts
UNLIMITED = "1000000000/min"
# 200 simulated users share 127.0.0.1: the per-client limits are raised out of the way.
RAISED_LIMITS = {
    "API_THROTTLE_ANON": UNLIMITED,
    "API_THROTTLE_USER": UNLIMITED,
    "API_THROTTLE_SYNC": UNLIMITED,
    "STEPWISE_WEB_STATUS_CHANGES_PER_MINUTE": "1000000",
    "LINK_REPORT_RATE_LIMIT": "1000000",
}
# Users arrive at 50 a second, each opening its dashboard: the first seconds are a rush.
RAMP_SECONDS = 15
# Only the bench's own loopback: the link checker refuses these addresses without a request.
LOOPBACK_LINKS = "http://127.0.0.1:9/"


def prepare(learners: int) -> dict:
    """Migrate, build or reuse the data set, ready ``learners`` learners; return the plan."""
    import django

    django.setup()
    from allauth.account.models import EmailAddress
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.hashers import make_password
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.core.management import call_command
    from django.db.models import Value
    from django.db.models.functions import Replace

    from apps.accounts.models import User
    from apps.content.models import Resource, Step, StepResource, Track
    from apps.linkhealth.models import BrokenLinkReport
    from apps.progress.models import Enrollment
    from bench import web_bench

    call_command("migrate", verbosity=0)
    web_bench.fill(random.Random(42))
    users = list(User.objects.filter(email__regex=r"^bench\d+@example\.com$").order_by("pk"))
    users = users[:learners]
    assert len(users) == learners, f"the data set has only {len(users)} learners"
    # One hash for all, made once: production's hasher costs the better part of a second.
    hashed = next((u.password for u in users if u.check_password(PASSWORD)), None)
    hashed = hashed or make_password(PASSWORD)
    User.objects.filter(pk__in=[u.pk for u in users]).exclude(password=hashed).update(
        password=hashed
    )
    users = list(User.objects.filter(pk__in=[u.pk for u in users]).order_by("pk"))
    EmailAddress.objects.bulk_create(
        [EmailAddress(user=u, email=u.email, verified=True, primary=True) for u in users],
        ignore_conflicts=True,
    )
    # The data set's links point at example.org; the worker must not leave this machine.
    Resource.objects.filter(url__startswith="https://example.org/").update(
        url=Replace("url", Value("https://example.org/"), Value(LOOPBACK_LINKS))
    )
    # Each run starts from fresh sessions and no reports (a learner reports a link once).
    BrokenLinkReport.objects.filter(user__in=users).delete()
    Session.objects.all().delete()

    def signed_in(user: User) -> str:
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "allauth.account.auth_backends.AuthenticationBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        assert session.session_key
        return session.session_key

    resource_of = dict(StepResource.objects.values_list("step_id", "resource_id"))
    steps_of: dict[int, list[list]] = {}
    for step_id, track_id, slug, key in Step.objects.filter(track__is_published=True).values_list(
        "pk", "track_id", "track__slug", "key"
    ):
        steps_of.setdefault(track_id, []).append([step_id, slug, key, resource_of.get(step_id)])
    tracks_of: dict[int, list[int]] = {}
    for user_id, track_id in Enrollment.objects.filter(user__in=users).values_list(
        "user_id", "track_id"
    ):
        tracks_of.setdefault(user_id, []).append(track_id)
    return {
        "password": PASSWORD,
        "tracks": list(Track.objects.filter(is_published=True).values_list("slug", flat=True)),
        "learners": [
            {
                "email": user.email,
                # The browser and the phone each hold a session, as after an earlier sign-in.
                "session": signed_in(user),
                "token": signed_in(user),
                "steps": [s for t in sorted(tracks_of[user.pk]) for s in steps_of.get(t, [])],
            }
            for user in users
        ],
    }


def run_locust(base: str, args: argparse.Namespace, folder: Path, plan: Path) -> list[str]:
    command = [
        str(stack.BIN / "locust"),
        "-f",
        str(ROOT / "bench" / "load_locustfile.py"),
        "--headless",
        "-u",
        str(args.users),
        "-r",
        str(args.spawn_rate),
        "-t",
        f"{args.seconds}s",
        "--stop-timeout",
        "30",
        "--host",
        base,
        "--csv",
        str(folder / "load"),
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    env = {
        **os.environ,
        "LOAD_PLAN": str(plan),
        "LOAD_ACKS": str(folder / "acks.jsonl"),
        "LOAD_STATUSES": str(folder / "statuses.json"),
        "LOAD_REQUESTS": str(folder / "requests.tsv"),
    }
    with (folder / "locust.log").open("wb") as log:
        # Locust exits with 1 when any request failed: the report below says which.
        done = subprocess.run(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    if done.returncode not in (0, 1):
        raise SystemExit(f"locust failed ({done.returncode}): see {folder / 'locust.log'}")
    return command


def lost_writes(acks_path: Path) -> tuple[int, int, list[dict]]:
    """(acknowledged ticks, learner-steps checked, the ones whose status is not the last
    acknowledged one). Each learner ticks only its own steps, one request at a time, so
    the acknowledgements of one learner-step are in the file in the order they happened."""
    from apps.accounts.models import User
    from apps.progress.models import StepProgress

    acks = [json.loads(line) for line in acks_path.read_text().splitlines() if line]
    last: dict[tuple[str, int], dict] = {}
    for ack in acks:
        last[(ack["user"], ack["step"])] = ack
    ids = dict(User.objects.filter(email__in={u for u, _ in last}).values_list("email", "pk"))
    saved = {
        (user_id, step_id): status
        for user_id, step_id, status in StepProgress.objects.filter(
            user_id__in=ids.values(), step_id__in={s for _, s in last}
        ).values_list("user_id", "step_id", "status")
    }
    lost = [
        {**ack, "saved": saved.get((ids[user], step))}
        for (user, step), ack in last.items()
        if saved.get((ids[user], step)) != ack["status"]
    ]
    return len(acks), len(last), lost


class QueueWatch(threading.Thread):
    """Samples, twice a second, the outbox rows pending, the broker's queue and the link
    checks the run's reports asked for that have not run yet."""

    def __init__(self, redis: stack.OwnRedis, since) -> None:
        super().__init__(daemon=True)
        self.redis, self.since = redis, since
        self.samples: list[tuple[float, int, int | None, int]] = []
        self.done = threading.Event()

    def sample(self) -> tuple[int, int | None, int]:
        import redis as redis_client
        from django.db import close_old_connections

        from apps.core.models import OutboxMessage
        from apps.linkhealth.models import LinkCheckClaim

        close_old_connections()
        pending = OutboxMessage.objects.filter(sent_at__isnull=True).count()
        try:
            queued = redis_client.Redis.from_url(self.redis.url(), socket_timeout=0.5).llen(
                "celery"
            )
        except redis_client.RedisError:
            queued = None  # Redis is down
        unchecked = LinkCheckClaim.objects.filter(
            run__created_at__gte=self.since, checked_at__isnull=True
        ).count()
        return pending, queued, unchecked

    def run(self) -> None:
        from django.db import connection

        while not self.done.is_set():
            self.samples.append((time.monotonic(), *self.sample()))
            time.sleep(0.5)
        connection.close()

    def settled(self) -> bool:
        return bool(self.samples) and self.samples[-1][1:] == (0, 0, 0)


def drain_report(watch: QueueWatch, began: float, since: float, label: str) -> dict:
    """From the samples: the most rows pending, and how long after ``since`` (Redis back, or
    the load's end) the outbox emptied and then the queue too, with every check run."""
    from apps.core.models import OutboxMessage
    from apps.linkhealth.models import LinkCheckClaim

    peak = max(watch.samples, key=lambda sample: sample[1])
    # From the last sample before ``since`` on: all may have settled before it.
    first = max([i for i, s in enumerate(watch.samples) if s[0] <= since] or [0])
    after = watch.samples[first:]
    empty = next((max(s[0], since) for s in after if s[1] == 0), None)
    settled = next((max(s[0], since) for s in after if s[1:] == (0, 0, 0)), None)
    return {
        "outbox pending at most": f"{peak[1]} (at {peak[0] - began:.0f} s)",
        "outbox empty": f"{empty - since:.1f} s after {label}" if empty else "not yet",
        "queue empty and every check run": (
            f"{settled - since:.1f} s after {label}" if settled else f"not yet: {after[-1]}"
        ),
        "outbox messages": OutboxMessage.objects.filter(created_at__gte=watch.since).count(),
        "sent after a failed try": OutboxMessage.objects.filter(
            created_at__gte=watch.since, attempts__gt=0, sent_at__isnull=False
        ).count(),
        "link checks run": LinkCheckClaim.objects.filter(
            run__created_at__gte=watch.since, checked_at__isnull=False
        ).count(),
    }


# gunicorn's access log (gunicorn.conf.py): '127.0.0.1 "GET /path HTTP/1.1" 200 1234 56ms ...'
ACCESS_LINE = re.compile(r'^\S+ "(\w+) (\S+) HTTP/[\d.]+" (\d{3}) \S+ (\d+)ms')
ENDPOINTS = [
    (re.compile(pattern), name)
    for pattern, name in [
        (r"^/tracks/$", "/tracks/"),
        (r"^/tracks/[^/]+/$", "/tracks/<slug>/"),
        (r"^/tracks/[^/]+/steps/[^/]+/status/$", "/tracks/<slug>/steps/<key>/status/"),
        (r"^/links/report/\d+/$", "/links/report/<id>/"),
        (r"^/api/v1/progress/steps/\d+/$", "/api/v1/progress/steps/<id>/"),
        (r"^/api/v1/progress/changes/", "/api/v1/progress/changes/"),
        (r"^[^?]*", ""),  # any other path as it is
    ]
]


def server_times(log: str) -> dict[str, list[int]]:
    """Milliseconds gunicorn took per request, by endpoint, from its access log."""
    times: dict[str, list[int]] = {}
    for line in log.splitlines():
        match = ACCESS_LINE.match(line)
        if not match or match[2] in ("/healthz", "/readyz"):
            continue
        method, path, _, ms = match.groups()
        for pattern, name in ENDPOINTS:
            found = pattern.match(path)
            if found:
                times.setdefault(f"{method} {name or found[0]}", []).append(int(ms))
                break
    return times


def print_server_times(times: dict[str, list[int]]) -> None:
    print("\nserver time (gunicorn's access log: from the request read to the answer sent)")
    print("| endpoint | requests | median ms | p95 ms |")
    print("| --- | ---: | ---: | ---: |")
    for name, values in sorted(times.items()):
        values.sort()
        p95 = values[max(0, int(len(values) * 0.95) - 1)]
        print(f"| {name} | {len(values)} | {statistics.median(values):.0f} | {p95} |")


def database_cpu(name: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend serving database ``name``."""
    found = {}
    for process in psutil.process_iter(["cmdline", "cpu_times"]):
        title = " ".join(process.info["cmdline"] or [])
        if title.startswith("postgres:") and f" {name} " in title and process.info["cpu_times"]:
            found[process.pid] = process.info["cpu_times"].user + process.info["cpu_times"].system
    return found


def outage(
    redis: stack.OwnRedis, started: float, down: float, up: float, freeze: bool, log: dict
) -> None:
    """Stop Redis (or, with ``freeze``, leave it connected but silent) from ``down`` to ``up``
    seconds after ``started``."""
    go_down, come_back = (redis.freeze, redis.thaw) if freeze else (redis.stop, redis.start)
    time.sleep(max(0.0, started + down - time.monotonic()))
    go_down()
    log["down"], log["down_clock"] = time.monotonic(), time.time()
    time.sleep(max(0.0, started + up - time.monotonic()))
    come_back()
    log["up"], log["up_clock"] = time.monotonic(), time.time()


def phases(folder: Path, bounds: list[tuple[str, float, float]]) -> None:
    """Requests, throughput, latency and failures per phase of the run (wall-clock bounds),
    from every request's start and duration."""
    requests = []
    for line in (folder / "requests.tsv").read_text().splitlines():
        start, _, status, ms = line.split("\t")
        requests.append((float(start), int(status), float(ms)))
    print("\n| phase | requests | req/s | median ms | p95 ms | failed (not 2xx/3xx) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for label, begin, end in bounds:
        inside = [r for r in requests if begin <= r[0] < end]
        if len(inside) < 2:
            continue
        times = sorted(r[2] for r in inside)
        failed = sum(1 for r in inside if not 200 <= r[1] < 400)
        seconds = min(end, max(r[0] for r in inside)) - begin
        print(
            f"| {label} | {len(inside)} | {len(inside) / seconds:.1f} "
            f"| {statistics.median(times):.0f} | {times[int(len(times) * 0.95) - 1]:.0f} "
            f"| {failed} |"
        )


def report(folder: Path, args: argparse.Namespace, acks: tuple, elapsed: float) -> int:
    with (folder / "load_stats.csv").open() as stats:
        rows = list(csv.DictReader(stats))
    seen = json.loads((folder / "statuses.json").read_text())
    answers = seen["answers"]
    errors_by_name: dict[str, Counter] = {}
    for name, status, n in answers:
        if not 200 <= status < 400:
            errors_by_name.setdefault(name, Counter())[status] += n
    print("\n| endpoint | requests | req/s | median ms | p95 ms | errors |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        name = f"{row['Type']} {row['Name']}" if row["Name"] != "Aggregated" else "**total**"
        errors = errors_by_name.get(name) or Counter()
        detail = ", ".join(f"{n} x {status}" for status, n in sorted(errors.items()))
        print(
            f"| {name} | {row['Request Count']} "
            f"| {float(row['Requests/s']):.1f} | {row['50%']} | {row['95%']} "
            f"| {row['Failure Count']}{f' ({detail})' if detail else ''} |"
        )
    statuses = Counter()
    for _, status, n in answers:
        statuses[status] += n
    server_errors = sum(n for s, n in statuses.items() if s >= 500)
    other = {s: n for s, n in statuses.items() if s == 0 or 400 <= s < 500}
    acked, checked, lost = acks
    print(f"\nanswers by status: {dict(sorted(statuses.items()))}")
    print(f"5xx: {server_errors}; other errors: {other or 'none'}")
    print(f"ticks acknowledged: {acked} on {checked} learner-steps; lost writes: {len(lost)}")
    for item in lost[:20]:
        print(f"  lost: {item}")
    failures = folder / "load_failures.csv"
    if failures.exists():
        with failures.open() as f:
            for row in csv.DictReader(f):
                where = f"{row['Method']} {row['Name']}"
                print(f"  failure: {where}: {row['Error']} x {row['Occurrences']}")
    for name, status, examples in seen["examples"]:
        for example in examples:
            print(f"  e.g. {name} -> {status}: {' '.join(example.split())[-300:]}")
    print(f"run took {elapsed:.0f} s of wall time")
    return int(rows[-1]["Request Count"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--spawn-rate", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--redis-outage", action="store_true")
    parser.add_argument(
        "--freeze",
        action="store_true",
        help="with --redis-outage: Redis stops answering (SIGSTOP) instead of stopping",
    )
    parser.add_argument("--down-at", type=float, default=20.0)
    parser.add_argument("--up-at", type=float, default=40.0)
    parser.add_argument(
        "--relay-interval", type=float, default=30.0, help="as beat runs the relay (seconds)"
    )
    parser.add_argument("--worker-concurrency", type=int, default=2)
    parser.add_argument("--drain-seconds", type=float, default=180.0)
    args = parser.parse_args()

    ensure_database()
    redis = stack.OwnRedis()
    redis.start()
    env = stack.production_env(
        redis_url=redis.url(),
        DATABASE_URL=os.environ["DATABASE_URL"],
        CONN_MAX_AGE="60",
        # Locust connects straight to gunicorn and keeps each user's connections open however
        # long the user idles, where nginx would stand (it drops idle upstream connections
        # after 4 s, before gunicorn's 5 s). With gunicorn closing first, a POST sent just
        # as it closes fails, which a browser would retry. gunicorn keeps them the whole
        # run here, so it never closes first, as behind nginx.
        GUNICORN_KEEPALIVE="120",
        **RAISED_LIMITS,
    )
    # This process shares the server's settings: its sessions are the server's sessions.
    os.environ.update(env)
    processes: list[stack.Process] = []
    folder = Path(tempfile.mkdtemp(prefix="stepwise-load-"))
    try:
        started = time.perf_counter()
        plan = prepare(args.users)
        (folder / "plan.json").write_text(json.dumps(plan))
        print(f"data ready in {time.perf_counter() - started:.0f} s")
        static = Path(tempfile.gettempdir()) / "stepwise-load-bench-static"
        env["STATIC_ROOT"] = str(stack.collectstatic(env, static))
        print(f"static files collected; ready in {time.perf_counter() - started:.0f} s")
        print(f"output in {folder}")

        from django.utils import timezone

        since = timezone.now()
        port = stack.free_port()
        processes.append(stack.gunicorn(env, port))
        processes.append(stack.celery_worker(env, args.worker_concurrency))
        processes.append(stack.outbox_relay(env, args.relay_interval))
        outage_log: dict = {}
        watch = QueueWatch(redis, since)
        watch.start()
        began, began_clock = time.monotonic(), time.time()
        if args.redis_outage:
            threading.Thread(
                target=outage,
                args=(redis, began, args.down_at, args.up_at, args.freeze, outage_log),
                daemon=True,
            ).start()
        database = urlsplit(os.environ["DATABASE_URL"]).path.lstrip("/")
        database_before = database_cpu(database)
        cpu_before = {p.name: p.cpu_seconds() for p in processes}
        machine_before = psutil.cpu_times()
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        command = run_locust(f"http://127.0.0.1:{port}", args, folder, folder / "plan.json")
        ended, ended_clock = time.monotonic(), time.time()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = {p.name: p.cpu_seconds() - cpu_before[p.name] for p in processes}
        cpu["postgres"] = sum(
            seconds - database_before.get(pid, 0.0)
            for pid, seconds in database_cpu(database).items()
        )
        cpu["locust"] = (children.ru_utime + children.ru_stime) - (
            children_before.ru_utime + children_before.ru_stime
        )
        machine = psutil.cpu_times()
        idle = (machine.idle + machine.iowait) - (machine_before.idle + machine_before.iowait)
        busy = sum(machine) - sum(machine_before) - idle
        load = os.getloadavg()
        elapsed = ended - began
        # The queued work must drain (after an outage, give the relay time).
        while not watch.settled() and time.monotonic() < ended + args.drain_seconds:
            time.sleep(0.5)
        watch.done.set()
        watch.join()
        if args.redis_outage:
            drained = drain_report(watch, began, outage_log["up"], "Redis was back")
        else:
            drained = drain_report(watch, began, ended, "the load ended")
        acks = lost_writes(folder / "acks.jsonl")
    finally:
        for process in reversed(processes):
            process.stop()
        redis.stop()

    gunicorn_log = processes[0].log if processes else ""
    print("\n" + " ".join(shlex.quote(part) for part in command))
    print(
        f"gunicorn: WEB_CONCURRENCY={env.get('WEB_CONCURRENCY', '2 (default)')}, "
        f"GUNICORN_THREADS={env.get('GUNICORN_THREADS', '24 (default)')}, "
        f"GUNICORN_KEEPALIVE={env['GUNICORN_KEEPALIVE']}; "
        f"worker concurrency {args.worker_concurrency}; relay every {args.relay_interval:g} s"
    )
    if args.redis_outage:
        stopped, started = ("frozen", "thawed") if args.freeze else ("stopped", "started")
        print(
            f"Redis {stopped} at {outage_log['down'] - began:.1f} s, "
            f"{started} at {outage_log['up'] - began:.1f} s"
        )
    print(f"queued work: {drained}")
    requests = report(folder, args, acks, elapsed)
    if args.redis_outage:
        down, up = outage_log["down_clock"], outage_log["up_clock"]
        phases(
            folder,
            [("before", began_clock, down), ("Redis down", down, up), ("after", up, ended_clock)],
        )
    else:
        steady = began_clock + RAMP_SECONDS
        phases(
            folder,
            [
                (f"first {RAMP_SECONDS} s (arrivals)", began_clock, steady),
                ("the rest", steady, ended_clock),
            ],
        )
    print_server_times(server_times(gunicorn_log))
    print(
        f"\nCPU seconds during the load ({elapsed:.0f} s x {psutil.cpu_count()} cores = "
        f"{elapsed * psutil.cpu_count():.0f} available): machine busy {busy:.0f}; "
        + ", ".join(f"{name} {seconds:.0f}" for name, seconds in cpu.items())
        + f"; gunicorn {cpu['gunicorn'] * 1000 / max(requests, 1):.0f} ms per request; "
        f"load average at the end {load[0]:.1f} (1 min), {load[1]:.1f} (5 min)"
    )
    tracebacks = gunicorn_log.count("Traceback")
    cache_down = gunicorn_log.count("Redis cache unavailable")
    broker_down = gunicorn_log.count("Broker unavailable")
    print(
        f"gunicorn log: {tracebacks} tracebacks, {cache_down} 'Redis cache unavailable' and "
        f"{broker_down} 'Broker unavailable' warnings ({processes[0].log_path})"
    )
    for process in processes[1:]:
        print(f"{process.name} log: {process.log_path}")


if __name__ == "__main__":
    main()
