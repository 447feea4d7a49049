"""On SQLite (the zero-setup default, a file), two recordings of the same links at once queue
up as on PostgreSQL instead of the second failing with "database is locked"."""

import json

from tests.scripts import python_run

SCENARIO = r"""
import json
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from apps.content.models import Resource
from apps.linkhealth import services
from apps.linkhealth.models import LinkCheck
from tests.linkhealth.recording_race import recordings_race

resources = [
    Resource.objects.create(url=f"https://example.org/{n}", title=str(n)) for n in range(15)
]
run, _ = services.link_check_run_create(kind="manual", resource_ids=[r.pk for r in resources])
recorded = recordings_race(run, resources[:10], resources[5:])
print(json.dumps({**{k: v if isinstance(v, (bool, str)) else len(v) for k, v in recorded.items()},
                  "checks": LinkCheck.objects.count()}))
"""


def test_two_recordings_at_once_on_a_sqlite_file_queue_up(tmp_path):
    out = python_run(
        SCENARIO,
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        },
    )

    outcome = json.loads(out.strip().splitlines()[-1])
    assert outcome == {"waited": True, "first": 10, "second": 5, "checks": 15}
