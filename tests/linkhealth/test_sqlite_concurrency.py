"""On SQLite (the zero-setup default, a file), two recordings of the same URLs at once queue
up as on PostgreSQL instead of the second failing with "database is locked"."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCENARIO = r"""
import json, threading
import django
django.setup()
from django.core.management import call_command
from django.db import connections, transaction
call_command("migrate", verbosity=0)
from apps.content.models import Resource
from apps.linkhealth import services
from apps.linkhealth.checker import CheckResult, Outcome
from apps.linkhealth.models import LinkCheck

resources = [
    Resource.objects.create(url=f"https://example.org/{n}", title=str(n)) for n in range(15)
]
run, _ = services.link_check_run_create(kind="manual", resource_ids=[r.pk for r in resources])
first_recorded, commit_first = threading.Event(), threading.Event()
recorded = {}

def record(name, batch, hold=False):
    checked = [(r, CheckResult(url=r.url, outcome=Outcome.OK, status_code=200)) for r in batch]
    try:
        with transaction.atomic():
            recorded[name] = len(services.link_checks_record(checked=checked, run=run))
            if hold:
                first_recorded.set()
                commit_first.wait(10)
    except Exception as exc:
        recorded[name] = repr(exc)
    finally:
        connections.close_all()

first = threading.Thread(target=record, args=("first", resources[:10], True))
first.start()
first_recorded.wait(10)
second = threading.Thread(target=record, args=("second", resources[5:]))
second.start()
second.join(0.5)
waited = second.is_alive()
commit_first.set()
first.join(10)
second.join(10)
print(json.dumps({"waited": waited, **recorded, "checks": LinkCheck.objects.count()}))
"""


def test_two_recordings_at_once_on_a_sqlite_file_queue_up(tmp_path):
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")},
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }

    run = subprocess.run(  # noqa: S603 - this interpreter, our own script
        [sys.executable, "-c", SCENARIO],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )

    assert run.returncode == 0, run.stderr[-3000:]
    outcome = json.loads(run.stdout.strip().splitlines()[-1])
    assert outcome == {"waited": True, "first": 10, "second": 5, "checks": 15}
