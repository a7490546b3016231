"""The task that runs one remediation job."""

from __future__ import annotations

from typing import Any

from billiard.einfo import ExceptionInfo
from billiard.exceptions import TimeLimitExceeded
from celery import Task, shared_task, signals

from remediator import defaults
from remediator.errors import JobFailed
from remediator.jobs import JobStatus
from remediator.tasks.worker_process import script_context, worker_lifecycle
from remediator.worker import runner


class RemediationTask(Task):  # type: ignore[misc]
    """Records jobs that never got to record themselves: killed at the hard time limit."""

    # A recorded failure is expected: Celery logs it in one line, without a traceback (the
    # telemetry listener has already sent it to Sentry with the job's tags).
    throws = (JobFailed,)

    def on_failure(self, exc: Exception, task_id: str, args: Any, kwargs: Any, einfo: ExceptionInfo) -> None:
        # Celery calls this in the main worker process after killing the pool child.
        if isinstance(exc, TimeLimitExceeded):
            runner.record_killed(
                worker_lifecycle(), task_id, f"killed at the hard time limit ({exc.args[0]}s)"
            )


@signals.task_revoked.connect
def _revoked(
    sender: Any = None, request: Any = None, terminated: bool = False, expired: bool = False, **_: Any
) -> None:
    # A job's message revoked from outside (Flower, `celery control revoke`) must not leave
    # its record queued or running forever, holding its key's slot: it is cancelled.
    if request is None or getattr(sender, "name", None) != defaults.RUN_JOB_TASK:
        return
    runner.record_revoked(worker_lifecycle(), request.id, terminated=terminated, expired=expired)


@shared_task(
    name=defaults.RUN_JOB_TASK,
    base=RemediationTask,
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    # The job's record is its result; a copy in Celery's result backend would be one more
    # Redis write per job that nothing reads (Flower shows the outcome from task events).
    ignore_result=True,
)
def run_job(self: Task, job_id: str) -> dict[str, Any]:
    """Run the job whose record is stored under job_id."""
    job = runner.run_job(
        worker_lifecycle(), job_id, worker=self.request.hostname or "unknown", context=script_context
    )
    if job is None:
        return {"skipped": True}
    if job.status == JobStatus.FAILED:
        # Celery sees the failure; the record already has it.
        raise JobFailed(job.error or "failed")
    return job.output or {}
