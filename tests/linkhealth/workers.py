"""Finding and killing a test Celery worker's processes."""

import contextlib
import os
import signal
from pathlib import Path

from tests.celery_worker import WorkerRun


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (a prefork worker's pool processes)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            # "pid (name) state ppid ...": the name may hold spaces, so split after it.
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def worker_kill_9(run: WorkerRun) -> None:
    """``kill -9`` a whole worker at once, its main and its pool processes, as losing its
    machine or container would."""
    main = run.process.pid
    for pid in [main, *children(main)]:
        os.kill(pid, signal.SIGKILL)
    run.process.wait(10)
