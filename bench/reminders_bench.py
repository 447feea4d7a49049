"""Reminders benchmark: Stepwise's whole path against the bare loop, 20,000 of 100,000 due.

Fills a dedicated PostgreSQL database (bulk inserts) with 100,000 learners spread over
24 time zones, each with preferences, a verified address, an unfinished enrollment and,
for half of them, older progress; 20,000 are due at the measured moment (plus 2,400 in the
same time slots that the rules skip). Then, in a fresh process, each round times:

1. Stepwise's full path: the selection (``reminders_due_select``, its queries counted),
   deciding + recording the deliveries (``reminders_due_schedule``), then rendering,
   signing, sending and recording every email through the real send task, one chunk per
   task and one SMTP connection per chunk, WORKERS processes at a time as a Celery worker
   with --concurrency=WORKERS would;
2. the bare loop, the physical limit: the same messages, rendered beforehand (not timed),
   sent as bytes by plain smtplib over one connection per process, WORKERS processes;

both into the same SMTP sink (aiosmtpd's Sink handler, SINKS processes sharing one port),
and reports emails/s, Stepwise as a share of the bare loop, the CPU each spends per email
in its sending processes, and the peak memory (max RSS).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_reminders python bench/reminders_bench.py

Not a pass/fail test: it prints figures for bench/RESULTS.md. Rerunnable (it deletes the
previous run's deliveries first); drop the database to refill. Environment variables reach
the send tasks (e.g. REMINDERS_SENT_COMMIT_DURABLE=true).
"""

import argparse
import multiprocessing
import os
import random
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import ensure_database  # noqa: E402 - needs the path above

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_reminders")
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.dev"
os.environ["DEBUG"] = "false"  # no query log growing in memory
os.environ["LOG_LEVEL"] = "WARNING"
os.environ.pop("REDIS_URL", None)  # Celery tasks run in-process

WORKERS = 3  # 4 oversubscribes the 2 cores shared with the sinks: 489/s against 595/s
SINKS = 2
ROUNDS = 3  # each round: Stepwise's full path, then the bare loop
LEARNERS = 100_000
DUE = 20_000
SKIPPED_IN_SLOT = 2_400
TRACKS = 8
STEPS_PER_TRACK = 30
# Monday 2 June 2025, 08:00 UTC.
MOMENT = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)
ZONES = [
    "UTC",
    "Europe/London",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Athens",
    "Europe/Moscow",
    "Africa/Lagos",
    "Africa/Nairobi",
    "Asia/Dubai",
    "Asia/Karachi",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Asia/Dhaka",
    "Asia/Bangkok",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Australia/Adelaide",
    "Australia/Sydney",
    "Pacific/Auckland",
    "America/Sao_Paulo",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
]


def _on_the_hour(name: str) -> bool:
    import zoneinfo

    return MOMENT.astimezone(zoneinfo.ZoneInfo(name)).minute == 0


WHOLE_HOUR_ZONES = [z for z in ZONES if _on_the_hour(z)]


def setup_django() -> None:
    import django

    django.setup()


def fill() -> None:
    from allauth.account.models import EmailAddress
    from django.core.management import call_command
    from django.db import transaction

    from apps.accounts.models import User
    from apps.content.models import Resource, Step, StepResource, Track
    from apps.progress.models import Enrollment, ProgressEvent, StepProgress
    from apps.reminders.models import ReminderPreferences

    call_command("migrate", verbosity=0)
    if User.objects.filter(email="bench-0@example.com").exists():
        print("data already present; reusing it (drop the database to refill)")
        return
    rng = random.Random(6)
    started = time.perf_counter()
    with transaction.atomic():
        tracks = Track.objects.bulk_create(
            Track(slug=f"bench-{t}", title=f"Bench track {t}", is_published=True, position=t)
            for t in range(TRACKS)
        )
        steps = Step.objects.bulk_create(
            Step(track=track, key=f"s{n}", title=f"Step {n}", position=n, estimated_minutes=30)
            for track in tracks
            for n in range(STEPS_PER_TRACK)
        )
        resources = Resource.objects.bulk_create(
            Resource(url=f"https://example.com/bench/{s.pk}", title=f"Resource {s.pk}")
            for s in steps
        )
        StepResource.objects.bulk_create(
            StepResource(step=s, resource=r, position=0)
            for s, r in zip(steps, resources, strict=True)
        )
        steps_by_track = {t.pk: [s for s in steps if s.track_id == t.pk] for t in tracks}

        users = []
        plans = []  # (frequency, weekday, hour, usual_hour, goal, verified, progress_days_ago)
        for n in range(LEARNERS):
            zones = WHOLE_HOUR_ZONES if n < DUE + SKIPPED_IN_SLOT else ZONES
            zone = zones[n % len(zones)]
            local = MOMENT.astimezone(_zone(zone))
            if n < DUE:
                # Due now: daily, or weekly on today's local weekday; hour set or usual.
                weekly = n % 2 == 0
                plan = (
                    "weekly" if weekly else "daily",
                    local.weekday() if weekly else rng.randrange(7),
                    local.hour if n % 5 else None,
                    local.hour,
                    rng.choice([None, None, 50]),  # goals far out of reach: nudges
                    True,
                    rng.choice([None, 10, 30]) if weekly else rng.choice([None, 2, 40]),
                )
            elif n < DUE + SKIPPED_IN_SLOT:
                # In a due slot, but skipped: recent progress, no verified address, off.
                kind = n % 3
                plan = (
                    "off" if kind == 2 else "daily",
                    0,
                    local.hour,
                    None,
                    None,
                    kind != 1,
                    0 if kind == 0 else None,
                )
            else:
                # Not due now: another hour (or another weekday for weekly).
                weekly = n % 2 == 0
                other_hour = (local.hour + 1 + rng.randrange(23)) % 24
                plan = (
                    "weekly" if weekly else rng.choice(["daily", "off"]),
                    (local.weekday() + 1 + rng.randrange(6)) % 7 if weekly else 0,
                    other_hour if n % 4 else None,
                    other_hour,
                    None,
                    True,
                    rng.choice([None, 1, 5, 20]),
                )
            users.append(User(email=f"bench-{n}@example.com", password="!", timezone=zone))
            plans.append(plan)
        User.objects.bulk_create(users, batch_size=10_000)
        print(f"  users: {time.perf_counter() - started:.1f}s")
        EmailAddress.objects.bulk_create(
            (
                EmailAddress(user=u, email=u.email, primary=True, verified=p[5])
                for u, p in zip(users, plans, strict=True)
            ),
            batch_size=10_000,
        )
        ReminderPreferences.objects.bulk_create(
            (
                ReminderPreferences(
                    user=u,
                    reminder_frequency=p[0],
                    reminder_weekday=p[1],
                    reminder_hour=p[2],
                    usual_hour=p[3],
                    usual_hour_computed_at=MOMENT - timedelta(hours=5),
                    weekly_goal=p[4],
                )
                for u, p in zip(users, plans, strict=True)
            ),
            batch_size=10_000,
        )
        enrollments, progress, events = [], [], []
        for u, p in zip(users, plans, strict=True):
            track = tracks[u.pk % TRACKS]
            second = tracks[(u.pk + 3) % TRACKS]
            at = MOMENT - timedelta(days=90)
            enrollments.append(Enrollment(user=u, track=track, started_at=at, last_activity_at=at))
            if u.pk % 3 == 0:
                enrollments.append(
                    Enrollment(user=u, track=second, started_at=at, last_activity_at=at)
                )
            days_ago = p[6]
            if days_ago is None:
                continue
            for k, step in enumerate(steps_by_track[track.pk][: 1 + u.pk % 6]):
                when = MOMENT - timedelta(days=days_ago + k, hours=rng.randrange(1, 20))
                if days_ago == 0:
                    when = MOMENT - timedelta(hours=1 + k)
                progress.append(
                    StepProgress(
                        user=u,
                        step=step,
                        status="done",
                        status_changed_at=when,
                        started_at=when,
                        completed_at=when,
                    )
                )
                events.append(
                    ProgressEvent(
                        user=u,
                        step=step,
                        from_status="todo",
                        to_status="done",
                        occurred_at=when,
                        source="web",
                    )
                )
        Enrollment.objects.bulk_create(enrollments, batch_size=20_000)
        StepProgress.objects.bulk_create(progress, batch_size=20_000)
        ProgressEvent.objects.bulk_create(events, batch_size=20_000)
    print(
        f"filled {LEARNERS:,} learners, {len(enrollments):,} enrollments, "
        f"{len(progress):,} step statuses and events in {time.perf_counter() - started:.0f}s"
    )
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _zone(name: str):
    import zoneinfo

    return zoneinfo.ZoneInfo(name)


def _worker_init() -> None:
    from django.db import connections

    for conn in connections.all(initialized_only=True):
        conn.close()


def _worker_process_init() -> None:
    """What a Celery pool process does when the worker starts (``worker_process_init``),
    long before the beat's send: here too before the clock starts."""
    from apps.core.tasks import worker_process_prepare

    _worker_init()
    worker_process_prepare()


def _send_chunk(ids: list[int]) -> int:
    from apps.reminders.tasks import reminders_send_chunk

    return reminders_send_chunk(ids)


# --- the bare loop: the physical limit -----------------------------------------------------

#: (envelope from, envelope recipients, the message as sent on the wire), filled before the
#: bare loop's processes are forked, so they inherit it instead of being sent it.
_PRERENDERED: list[tuple[str, list[str], bytes]] = []


def _prerender_chunk(ids: list[int]) -> list[tuple[str, list[str], bytes]]:
    """The messages Stepwise sent for these deliveries, rendered again, as bytes on the wire
    (what Django's SMTP backend hands to smtplib)."""
    from django.core.mail.message import sanitize_address

    from apps.reminders.emails import reminder_message_render
    from apps.reminders.models import ReminderDelivery
    from apps.reminders.selectors import reminder_email_contexts

    deliveries = list(
        ReminderDelivery.objects.filter(pk__in=ids).select_related("user").order_by("pk")
    )
    contexts = reminder_email_contexts(deliveries=deliveries)
    out = []
    for delivery in deliveries:
        message = reminder_message_render(contexts[delivery.pk])
        encoding = message.encoding or "utf-8"
        out.append(
            (
                sanitize_address(message.from_email, encoding),
                [sanitize_address(to, encoding) for to in message.recipients()],
                message.message().as_bytes(linesep="\r\n"),
            )
        )
    return out


def _bare_send(part: int, parts: int, port: int) -> int:
    """Send every ``parts``-th pre-rendered message, from ``part`` on, over one connection."""
    import smtplib

    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for sender, recipients, data in _PRERENDERED[part::parts]:
            smtp.sendmail(sender, recipients, data)
    return len(_PRERENDERED[part::parts])


def _full_path(workers: int) -> dict:
    """Stepwise's whole path for the moment: select, decide and record, then render, sign,
    record and send every email through the real send task, ``workers`` processes at once.

    The worker's processes are started first (and prepared as a Celery worker prepares
    them), as a production worker is running before the beat sends the window's task."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from apps.reminders.models import DeliveryStatus, ReminderDelivery
    from apps.reminders.selectors import reminders_due_select
    from apps.reminders.services import reminders_due_schedule

    ReminderDelivery.objects.all().delete()
    connection.close()
    pool = multiprocessing.get_context("fork").Pool(workers, initializer=_worker_process_init)
    pool.map(time.sleep, [0.2] * workers, chunksize=1)  # every process up and prepared
    connection.ensure_connection()

    # 1. The selection alone (warm once: the first query pays for planning and cache).
    reminders_due_select(now=MOMENT - timedelta(minutes=15))
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        selection = reminders_due_select(now=MOMENT)
        selection_seconds = time.perf_counter() - started

    # 2. Decide and record (the selection again, as the beat task runs it); each chunk of
    # deliveries goes to the worker pool the moment it commits, where production hands it to
    # a send task through the outbox, and the pool sends it while the rest are recorded.
    from apps.reminders import services

    sending = []

    def hand_over(delivery_ids: list[int]) -> None:
        transaction.on_commit(
            lambda: sending.append(pool.apply_async(_send_chunk, (delivery_ids,)))
        )

    from bench.common import postgres_cpu_s

    cpu = _pool_cpu(pool)
    own_cpu, database_cpu = time.process_time(), postgres_cpu_s()
    started = time.perf_counter()
    real_hand_over, services._send_in_chunks = services._send_in_chunks, hand_over
    try:
        result = reminders_due_schedule(now=MOMENT)
    finally:
        services._send_in_chunks = real_hand_over
    scheduled = time.perf_counter()

    # 3. Render and deliver: each chunk is one send task (what a Celery worker process runs),
    # ``workers`` processes at a time, like `celery worker --concurrency=workers`.
    size = _setting("REMINDERS_SEND_CHUNK_SIZE")
    with pool:
        for chunk in sending:
            chunk.get()
        delivered = time.perf_counter()
        cpu = _pool_cpu(pool) - cpu
        own_cpu, database_cpu = time.process_time() - own_cpu, postgres_cpu_s() - database_cpu
    connection.close()
    return {
        "selection": selection,
        "selection_seconds": selection_seconds,
        "queries": len(queries),
        "created": result.created_ids,
        "chunks": len(sending),
        "size": size,
        "schedule_seconds": scheduled - started,
        "delivery_seconds": delivered - scheduled,
        "total_seconds": delivered - started,
        "sender_cpu_seconds": cpu,
        # The scheduling process's (selection, decisions, recording them) and PostgreSQL's.
        "scheduler_cpu_seconds": own_cpu,
        "database_cpu_seconds": database_cpu,
        "sent": ReminderDelivery.objects.filter(status=DeliveryStatus.SENT).count(),
        "not_sent": ReminderDelivery.objects.exclude(status=DeliveryStatus.SENT).count(),
    }


def _bare_loop(workers: int, port: int) -> tuple[float, float]:
    """The same messages, pre-rendered, over one plain smtplib connection per process:
    seconds, and CPU seconds of the sending processes."""
    cpu = _children_cpu()
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        sent = sum(pool.starmap(_bare_send, [(n, workers, port) for n in range(workers)]))
    seconds = time.perf_counter() - started
    assert sent == len(_PRERENDERED)
    return seconds, _children_cpu() - cpu


def _pool_cpu(pool) -> float:
    """CPU seconds (user + system) of a pool's live processes so far."""
    return _cpu_of([process.pid for process in pool._pool])


def _cpu_of(pids: list[int]) -> float:
    """CPU seconds (user + system) of live processes so far, from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def _sink_cpu() -> float:
    """CPU seconds the SMTP sink's processes have spent so far."""
    pids = os.environ.get("REMINDERS_BENCH_SINK_PIDS", "")
    return _cpu_of([int(pid) for pid in pids.split(",") if pid])


def _children_cpu() -> float:
    """CPU seconds (user + system) of this process's finished children (pool processes)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(workers: int, rounds: int) -> None:
    from django.db import connection

    port = int(os.environ["EMAIL_URL"].rsplit(":", 1)[1])
    ratios = []
    for round_ in range(1, rounds + 1):
        sink_cpu = _sink_cpu()
        full = _full_path(workers)
        full_sink_cpu = _sink_cpu() - sink_cpu
        sent = full["sent"]
        if not _PRERENDERED:
            # The messages of the first round, rendered again (not timed).
            ids = full["created"]
            size = full["size"]
            connection.close()
            with multiprocessing.get_context("fork").Pool(
                workers, initializer=_worker_init
            ) as pool:
                for part in pool.map(
                    _prerender_chunk, [ids[i : i + size] for i in range(0, len(ids), size)]
                ):
                    _PRERENDERED.extend(part)
        sink_cpu = _sink_cpu()
        bare_seconds, bare_cpu = _bare_loop(workers, port)
        bare_sink_cpu = _sink_cpu() - sink_cpu
        full_rate = sent / full["total_seconds"]
        bare_rate = len(_PRERENDERED) / bare_seconds
        ratios.append(full_rate / bare_rate)
        print(f"round {round_}:")
        _report(full, workers)
        print(
            f"  bare loop: {len(_PRERENDERED):,} pre-rendered messages "
            f"({sum(len(m[2]) for m in _PRERENDERED) / len(_PRERENDERED) / 1024:.1f} kB each), "
            f"one smtplib connection per process, {workers} processes: {bare_seconds:.1f}s "
            f"= {bare_rate:.0f} emails/s; sending processes' CPU "
            f"{1000 * bare_cpu / len(_PRERENDERED):.2f} ms per email"
        )
        print(
            "  the SMTP sink's processes' CPU per email: "
            f"{1000 * full_sink_cpu / max(sent, 1):.2f} ms in Stepwise's run, "
            f"{1000 * bare_sink_cpu / len(_PRERENDERED):.2f} ms in the bare loop's"
        )
        print(
            f"  Stepwise full path (selection to last email): {full_rate:.0f} emails/s "
            f"= {full_rate / bare_rate:.0%} of the bare loop"
        )
        _budget_report(
            full, full_sink_cpu, bare_seconds / len(_PRERENDERED), bare_cpu / len(_PRERENDERED)
        )
    _recording_cost()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    worker_peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"Stepwise / bare loop over {rounds} rounds: "
        + ", ".join(f"{r:.0%}" for r in ratios)
        + f" (median {sorted(ratios)[len(ratios) // 2]:.0%})"
    )
    print(
        f"peak memory (max RSS): {peak_mb:.0f} MB selecting process, "
        f"{worker_peak_mb:.0f} MB largest worker process"
    )


def _recording_cost() -> None:
    """What recording each email sent costs on its own, through the recorder the send task
    uses (one committed statement per email, the floor the at-most-one-duplicate rule sets):
    the last round's deliveries are taken back to "sending" under a claim, then recorded
    sent one by one, nothing else running."""
    import uuid

    from apps.reminders.models import DeliveryStatus, ReminderDelivery
    from apps.reminders.services import _sent_recorder
    from bench.common import postgres_cpu_s

    claim = uuid.uuid4()
    pks = list(ReminderDelivery.objects.values_list("pk", flat=True))
    ReminderDelivery.objects.filter(pk__in=pks).update(
        status=DeliveryStatus.SENDING, claim_id=claim
    )
    own_cpu, database_cpu = time.process_time(), postgres_cpu_s()
    started = time.perf_counter()
    with _sent_recorder(claim=claim) as record_sent:
        recorded = sum(record_sent(pk) for pk in pks)
    seconds = time.perf_counter() - started
    own_cpu, database_cpu = time.process_time() - own_cpu, postgres_cpu_s() - database_cpu
    assert recorded == len(pks)
    print(
        f"recording {recorded:,} emails sent, one committed statement each, nothing else "
        f"running: {1000 * seconds / recorded:.3f} ms per email, of which CPU "
        f"{1000 * own_cpu / recorded:.3f} ms in the recording process and "
        f"{1000 * database_cpu / recorded:.3f} ms in PostgreSQL"
    )


def _budget_report(
    full: dict, sink_cpu: float, bare_seconds_per_email: float, bare_cpu_per_email: float
) -> None:
    """Where the machine's CPU went in Stepwise's run, and what 80 % of the bare loop's rate
    would leave Stepwise's sending processes: the cores' seconds in the time that rate
    allows, less what the sink, the scheduling process and PostgreSQL spent in this run."""
    cores = os.cpu_count() or 1
    sent = max(full["sent"], 1)
    others = sink_cpu + full["scheduler_cpu_seconds"] + full["database_cpu_seconds"]
    allowed_seconds = sent * bare_seconds_per_email / 0.8  # 80 % of the bare loop's rate
    allowed = cores * allowed_seconds
    print(
        f"  CPU in Stepwise's run: {full['sender_cpu_seconds'] + others:.1f} s over "
        f"{full['total_seconds']:.1f} s on {cores} cores (senders "
        f"{full['sender_cpu_seconds']:.1f}, sink {sink_cpu:.1f}, scheduling process "
        f"{full['scheduler_cpu_seconds']:.1f}, PostgreSQL {full['database_cpu_seconds']:.1f})"
    )
    senders = 1000 * full["sender_cpu_seconds"] / sent
    print(
        f"  at 80 % of the bare loop ({allowed_seconds:.1f} s) the cores have "
        f"{allowed:.1f} CPU-s; less the sink, scheduling and PostgreSQL, the senders would "
        f"have {1000 * (allowed - others) / sent:.2f} ms per email (the bare loop's spend "
        f"{1000 * bare_cpu_per_email:.2f}, Stepwise's {senders:.2f})"
    )


def _report(full: dict, workers: int) -> None:
    selection = full["selection"]
    skipped: dict[str, int] = {}
    for decision in selection.skipped:
        reason = decision.reason.split(" since")[0]
        skipped[reason] = skipped.get(reason, 0) + 1
    kinds: dict[str, int] = {}
    for decision in selection.to_send:
        kinds[decision.kind or ""] = kinds.get(decision.kind or "", 0) + 1
    sent, seconds = full["sent"], full["delivery_seconds"]
    print(f"  learners: {LEARNERS:,}; due now: {len(selection.decisions):,}")
    print(f"  to send: {len(selection.to_send):,} {kinds}; skipped: {skipped}")
    print(f"  selection: {full['selection_seconds']:.2f}s in {full['queries']} queries")
    print(
        f"  decide + record {len(full['created']):,} deliveries: "
        f"{full['schedule_seconds']:.2f}s (selection included; the chunks recorded first "
        "are being sent meanwhile)"
    )
    print(
        f"  render + sign + send + record: {sent:,} sent, {full['not_sent']} not sent, "
        f"{seconds:.1f}s after the last chunk was recorded ({full['chunks']} chunks of "
        f"{full['size']}, one SMTP connection each, {workers} worker processes); worker "
        f"processes' CPU {1000 * full['sender_cpu_seconds'] / max(sent, 1):.2f} ms per email"
    )
    print(f"  total from selection to last email: {full['total_seconds']:.1f}s")


def _setting(name: str):
    from django.conf import settings

    return getattr(settings, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("phase", nargs="?", choices=["fill", "measure"])
    parser.add_argument("--workers", type=int, default=WORKERS)
    parser.add_argument("--sinks", type=int, default=SINKS)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args()
    if args.phase == "fill":
        setup_django()
        fill()
        return
    if args.phase == "measure":
        setup_django()
        measure(args.workers, args.rounds)
        return

    ensure_database()
    subprocess.run([sys.executable, __file__, "fill"], check=True)
    from tests.reminders.smtp import free_port

    port = free_port()
    sink_script = str(Path(__file__).with_name("reminders_sink.py"))
    sinks = [subprocess.Popen([sys.executable, sink_script, str(port)]) for _ in range(args.sinks)]
    try:
        time.sleep(1.5)  # let the sinks listen
        env = {
            **os.environ,
            "EMAIL_URL": f"smtp://127.0.0.1:{port}",
            "REMINDERS_BENCH_SINK_PIDS": ",".join(str(sink.pid) for sink in sinks),
        }
        subprocess.run(
            [
                sys.executable,
                __file__,
                "measure",
                "--workers",
                str(args.workers),
                "--rounds",
                str(args.rounds),
            ],
            check=True,
            env=env,
        )
    finally:
        for sink in sinks:
            sink.terminate()
        for sink in sinks:
            sink.wait(10)


if __name__ == "__main__":
    main()
