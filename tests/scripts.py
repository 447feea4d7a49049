"""Running a Python script in a fresh interpreter of this virtualenv, from the project root."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def python_run(script: str, env: dict[str, str], timeout: float = 180) -> str:
    """Run ``script`` with this environment less Django's settings variables plus ``env``;
    fail with its stderr unless it succeeds; return its stdout."""
    finished = subprocess.run(  # noqa: S603 - this interpreter, our own script
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={
            **{key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")},
            **env,
        },
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    return finished.stdout
