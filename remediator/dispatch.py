"""Submitting planned jobs: a durable record first, then the message on the tier's queue."""

from __future__ import annotations

import logging
import time

import redis
from celery import Celery
from kombu.exceptions import OperationalError
from pydantic import ValidationError

from remediator.defaults import RUN_JOB_TASK
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


class Dispatcher:
    """Turns JobSpecs into stored, queued jobs."""

    def __init__(self, celery: Celery, store: JobStore) -> None:
        self.celery = celery
        self.store = store

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
