"""The task that runs one remediation job."""

from __future__ import annotations

from typing import Any

from billiard.einfo import ExceptionInfo
from billiard.exceptions import TimeLimitExceeded
from celery import Task, shared_task

from remediator import defaults, runner
from tasks._store import worker_store


class RemediationTask(Task):  # type: ignore[misc]
    """Records jobs that never got to record themselves: killed at the hard time limit."""

    def on_failure(self, exc: Exception, task_id: str, args: Any, kwargs: Any, einfo: ExceptionInfo) -> None:
        # Celery calls this in the main worker process after killing the pool child.
        if isinstance(exc, TimeLimitExceeded):
            runner.record_killed(worker_store(), task_id, f"killed at the hard time limit ({exc.args[0]}s)")


@shared_task(
    name=defaults.RUN_JOB_TASK,
    base=RemediationTask,
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
)
def run_job(self: Task, job_id: str) -> dict[str, Any]:
    """Run the job whose record is stored under job_id."""
    return runner.run_job(worker_store(), job_id, worker=self.request.hostname or "unknown")
