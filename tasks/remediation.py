"""The task that runs one remediation job."""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task

from remediator import defaults, runner
from tasks._store import worker_store


@shared_task(name=defaults.RUN_JOB_TASK, bind=True, acks_late=True, reject_on_worker_lost=True)
def run_job(self: Task, job_id: str) -> dict[str, Any]:
    """Run the job whose record is stored under job_id."""
    return runner.run_job(worker_store(), job_id, worker=self.request.hostname or "unknown")
