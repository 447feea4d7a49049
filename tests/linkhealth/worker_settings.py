"""The settings of the worker that tests/linkhealth/test_worker_killed.py kills: development
settings, but the broker hands a lost worker's unacknowledged tasks out again after 10 s
instead of an hour (Redis' visibility timeout), so the test need not wait an hour. 10 s is
longer than the chunk the test runs, so a chunk still running is never handed out twice."""

from config.settings.dev import *  # noqa: F403
from config.settings.dev import CELERY_BROKER_TRANSPORT_OPTIONS

CELERY_BROKER_TRANSPORT_OPTIONS = {
    **CELERY_BROKER_TRANSPORT_OPTIONS,
    "visibility_timeout": 10,
    # Look for lost tasks every second.
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}
