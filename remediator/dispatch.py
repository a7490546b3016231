"""Submitting planned jobs: a durable record first, then the message on the tier's queue."""

from __future__ import annotations

import logging
import time

import redis
from celery import Celery
from kombu.exceptions import OperationalError
from pydantic import ValidationError

from remediator.defaults import FOLLOWUP_PRIORITY, RUN_JOB_TASK, VERIFY_TASK, WRITEBACK_TASK
from remediator.errors import BrokerUnavailable
from remediator.jobs import Job, JobStatus, JobStore
from remediator.payloads import Subject
from remediator.rules.engine import JobSpec
from remediator.scripts import get_script

log = logging.getLogger(__name__)

SOFT_LIMIT_MARGIN = 5
"""Seconds between the soft time limit (an exception the job records) and the kill."""


def soft_limit(hard: int) -> float:
    """The soft limit for a hard one: a margin before it, at most a tenth of it."""
    return hard - min(SOFT_LIMIT_MARGIN, hard / 10)


def send_writeback(celery: Celery, job: Job, kind: str) -> None:
    """Queue a comment about the job on its Sentry issue (on the job's tier, first in line)."""
    celery.send_task(WRITEBACK_TASK, args=[job.id, kind], queue=job.queue, priority=FOLLOWUP_PRIORITY)


def send_verify(celery: Celery, job: Job) -> None:
    """Queue the check that the job's fix held, verify_after seconds from now."""
    celery.send_task(
        VERIFY_TASK, args=[job.id], queue=job.queue, priority=FOLLOWUP_PRIORITY, countdown=job.verify_after
    )


class Dispatcher:
    """Turns JobSpecs into stored, queued jobs."""

    def __init__(self, celery: Celery, store: JobStore, writeback: bool = False) -> None:
        self.celery = celery
        self.store = store
        self.writeback = writeback
        """Whether Sentry's API is configured: then each queued job gets a comment."""

    def submit(self, spec: JobSpec, subject: Subject) -> Job:
        """Record the job and queue it; a job whose params are invalid is recorded as
        failed and never queued."""
        job = Job(
            rule=spec.rule,
            script=spec.script,
            tier=spec.tier,
            priority_class=spec.priority_class,
            namespace=spec.namespace,
            params=spec.params,
            sentry_issue_id=subject.issue_id,
            sentry_event_id=subject.event_id,
            sentry_resource=subject.resource,
            sentry_action=subject.action,
            queue=spec.queue,
            verify_after=spec.verify_after,
            resolve_issue=spec.resolve_issue,
        )
        script = get_script(spec.script)
        job.time_limit = spec.time_limit or script.time_limit
        error = spec.render_error
        if error is None:
            try:
                script.Params.model_validate(spec.params)
            except ValidationError as exc:
                error = f"invalid params for {spec.script}: {exc}"
        if error is not None:
            job.status, job.error, job.finished_at = JobStatus.FAILED, error, time.time()
        try:
            self.store.create(job)
            if error is None and self.writeback and job.sentry_issue_id:
                send_writeback(self.celery, job, "submitted")
            if error is None:
                self.celery.send_task(
                    RUN_JOB_TASK,
                    args=[job.id],
                    task_id=job.id,
                    queue=spec.queue,
                    priority=spec.priority,
                    time_limit=job.time_limit,
                    soft_time_limit=soft_limit(job.time_limit),
                )
        except (redis.RedisError, OperationalError, OSError) as exc:
            log.error("job %s: broker unavailable: %s", job.id, exc)
            raise BrokerUnavailable(f"broker unavailable: {exc}") from exc
        return job

    def cancel_for_issue(self, issue_id: str, reason: str) -> list[str]:
        """Cancel the issue's jobs that have not started; returns their ids."""
        cancelled = [
            job_id
            for job_id in self.store.jobs_for_issue(issue_id)
            if self.store.transition(
                job_id, JobStatus.QUEUED, JobStatus.CANCELLED, error=reason, finished_at=time.time()
            )
        ]
        if cancelled:
            for job_id in cancelled:
                self.store.add_note(job_id, "cancel", ok=True, detail=reason)
            # The claim in the worker refuses cancelled jobs anyway; revoking spares the trip.
            self.celery.control.revoke(cancelled)
        return cancelled
