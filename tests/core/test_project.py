"""The project as a whole: checks pass and migrations match models.

Compose, the proxy, gunicorn and .env.example are checked in test_deploy.py.
"""

from io import StringIO

import pytest
from django.core.management import call_command


def test_manage_py_check_passes():
    out = StringIO()
    call_command("check", stdout=out)
    assert "no issues" in out.getvalue()


@pytest.mark.django_db
def test_no_missing_migrations():
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()
