"""The task that runs one remediation job, and the follow-ups its outcome calls for."""

from __future__ import annotations

from typing import Any

from billiard.einfo import ExceptionInfo
from billiard.exceptions import TimeLimitExceeded
from celery import Task, shared_task

from remediator import defaults
from remediator.dispatch import send_verify, send_writeback
from remediator.jobs import Job, JobStatus
from remediator.settings import get_settings
from remediator.tasks._store import worker_store
from remediator.worker import runner


def _follow_up(app: Any, job: Job) -> None:
    settings = get_settings()
    if not job.sentry_issue_id:
        return
    if not settings.writeback_enabled:
        if job.status == JobStatus.SUCCEEDED:
            worker_store().add_note(
                job.id,
                "verify",
                ok=False,
                detail=("not verified: REMEDIATOR_SENTRY_AUTH_TOKEN and REMEDIATOR_SENTRY_ORG are not set"),
            )
        return
    send_writeback(app, job, "finished")
    if job.status == JobStatus.SUCCEEDED:
        send_verify(app, job)


class RemediationTask(Task):  # type: ignore[misc]
    """Records jobs that never got to record themselves: killed at the hard time limit."""

    def on_failure(self, exc: Exception, task_id: str, args: Any, kwargs: Any, einfo: ExceptionInfo) -> None:
        # Celery calls this in the main worker process after killing the pool child.
        if isinstance(exc, TimeLimitExceeded):
            job = runner.record_killed(
                worker_store(), task_id, f"killed at the hard time limit ({exc.args[0]}s)"
            )
            if job is not None:
                _follow_up(self.app, job)


@shared_task(
    name=defaults.RUN_JOB_TASK,
    base=RemediationTask,
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
)
def run_job(self: Task, job_id: str) -> dict[str, Any]:
    """Run the job whose record is stored under job_id."""
    settings = get_settings()
    job = runner.run_job(
        worker_store(),
        job_id,
        worker=self.request.hostname or "unknown",
        verifiable=settings.writeback_enabled,
    )
    if job is None:
        return {"skipped": True}
    _follow_up(self.app, job)
    if job.status == JobStatus.FAILED:
        # Celery (and its Sentry integration) see the failure; the record already has it.
        raise runner.JobFailed(job.error or "failed")
    return job.output or {}
