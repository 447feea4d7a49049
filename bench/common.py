"""Pieces every benchmark script shares."""

import os
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
