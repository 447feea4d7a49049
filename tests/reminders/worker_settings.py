"""The settings of the worker that tests/reminders/test_worker_killed.py kills: development
settings, but the broker hands a lost worker's unacknowledged tasks out again after 60 s
instead of an hour (Redis' visibility timeout), so the test need not wait an hour.

Not much shorter: Redis also hands out a task that a live worker has held that long
(prefetched, or running), and on a busy machine a chunk waits and runs for a while. That
second copy finds the emails still claimed and ends, acknowledged; if the worker is then
killed, nothing is left for the broker to hand out, and only the beat's sweep (which this
test does not run) would send the rest.
"""

from config.settings.dev import *  # noqa: F403
from config.settings.dev import CELERY_BROKER_TRANSPORT_OPTIONS

CELERY_BROKER_TRANSPORT_OPTIONS = {
    **CELERY_BROKER_TRANSPORT_OPTIONS,
    "visibility_timeout": 60,
    # Look for lost tasks every second.
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
    # A worker killed while it held the lock on that search would hold everyone else's for
    # 5 minutes (kombu's default); here 5 seconds.
    "unacked_mutex_expire": 5,
}
