"""The command lines that start Celery processes, shared by the CLI, the tests and the bench."""

from __future__ import annotations

import sys

from remediator import defaults

CELERY_APP = "remediator.worker.celery_app"
"""The module `celery -A` loads."""


def celery_command(*args: str) -> list[str]:
    """`celery -A remediator.worker.celery_app ARGS`, with this installation's Python."""
    return [sys.executable, "-m", "celery", "-A", CELERY_APP, *args]


def worker_options(tier: str, concurrency: int, name: str | None = None) -> list[str]:
    """A tier's worker: its own queue only, task events on, one process per slot."""
    return [
        "-Q",
        defaults.queue_for(tier),
        "-n",
        f"{name or tier}@%h",
        "-E",
        "-c",
        str(concurrency),
        "--loglevel",
        "INFO",
    ]
