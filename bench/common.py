"""Pieces every benchmark script shares."""

import os
from pathlib import Path
from urllib.parse import urlsplit


def ensure_database() -> None:
    """Create the PostgreSQL database named by DATABASE_URL if it does not exist yet."""
    import psycopg

    url = urlsplit(os.environ["DATABASE_URL"])
    name = url.path.lstrip("/")
    admin = url._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def postgres_cpu_s() -> float:
    """CPU seconds used so far by this machine's PostgreSQL: its live processes, and the
    server processes' finished children (a task's closed connection), which their parent
    has waited for. 0 when the database runs elsewhere."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            name, _, rest = stat.read_text().partition(" (")[2].rpartition(")")
            fields = rest.split()
            if name not in {"postgres", "postmaster"}:
                continue
            ticks = int(fields[11]) + int(fields[12])
            if int(fields[1]) == 1 or Path(f"/proc/{fields[1]}/comm").read_text().strip() not in {
                "postgres",
                "postmaster",
            }:
                ticks += int(fields[13]) + int(fields[14])  # the server's finished children
            total += ticks / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            continue
    return total
