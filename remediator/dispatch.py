"""Submitting planned jobs: a durable record first, then the message on the tier's queue."""

from __future__ import annotations

import logging
import time
from typing import Any, cast

import redis
from celery import Celery
from kombu.exceptions import OperationalError
from pydantic import ValidationError

from remediator.defaults import (
    APPROVAL_TTL_SECONDS,
    CLASS_TO_REDIS_PRIORITY,
    FOLLOWUP_PRIORITY,
    KEY_PREFIX,
    RUN_JOB_TASK,
    VERIFY_TASK,
    WRITEBACK_TASK,
)
from remediator.errors import BrokerUnavailable, JobStateError
from remediator.jobs import Job, JobStatus, JobStore
from remediator.jobs.gate import Gate
from remediator.payloads import Subject
from remediator.remediation_scripts import get_script
from remediator.rules.engine import JobSpec
from remediator.scripts import Script
from remediator.settings import Settings

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


AWAITING_KEY = f"{KEY_PREFIX}awaiting-approval"
"""Sorted set of jobs waiting for approval, by submission time."""


class Dispatcher:
    """Turns JobSpecs into job records, and queues those that may run."""

    def __init__(
        self,
        celery: Celery,
        store: JobStore,
        writeback: bool = False,
        dry_run: bool = False,
        tier_caps: dict[str, tuple[int, float]] | None = None,
        approval_ttl: float = APPROVAL_TTL_SECONDS,
    ) -> None:
        self.celery = celery
        self.store = store
        self.writeback = writeback
        """Whether Sentry's API is configured: then jobs are announced on their issue."""
        self.dry_run = dry_run
        """Global dry run: every match is evaluated and recorded, nothing runs."""
        self.gate = Gate(store.client, tier_caps or {})
        self.approval_ttl = approval_ttl

    def submit(self, spec: JobSpec, subject: Subject) -> Job:
        """Decide the job's fate (see safety.Gate), record it, and queue it if it may run.
        A job whose params are invalid is recorded as failed and never queued."""
        script = get_script(spec.script)
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
            time_limit=spec.time_limit or script.time_limit,
            verify_after=spec.verify_after,
            resolve_issue=spec.resolve_issue,
            storm_key=spec.key,
            breaker_after=spec.breaker_after,
        )
        error = spec.render_error or self._params_error(script, spec)
        try:
            if error is not None:
                job.status, job.error, job.finished_at = JobStatus.FAILED, error, time.time()
                return self.store.create(job)
            dry = spec.dry_run or self.dry_run
            ttl = (job.time_limit or 3600) + self.approval_ttl + 300
            # What the job becomes if every limit lets it through; the record is written in
            # the gate's own transaction and corrected below when a limit says otherwise.
            if dry:
                job.status = JobStatus.DRY_RUN
                job.reason = f"dry run: would queue {spec.script} on {spec.tier}"
            elif spec.approval:
                job.status = JobStatus.AWAITING_APPROVAL
                job.reason = "approval required before it runs"

            def record(pipe: Any) -> None:
                self.store.queue_create(pipe, job)
                if job.status == JobStatus.AWAITING_APPROVAL:
                    pipe.zadd(AWAITING_KEY, {job.id: job.created_at})

            verdict = self.gate.decide(spec, subject, job.id, reserve=not dry, active_ttl=ttl, then=record)
            if verdict.status != JobStatus.QUEUED:
                was_awaiting = job.status == JobStatus.AWAITING_APPROVAL
                job.status, job.reason = verdict.status, verdict.reason
                job.related_job = verdict.related_job
                self.store.update(job.id, status=job.status, reason=job.reason, related_job=job.related_job)
                if was_awaiting:
                    self.store.client.zrem(AWAITING_KEY, job.id)
            announce = {
                JobStatus.QUEUED: "submitted",
                JobStatus.DRY_RUN: "dry_run",
                JobStatus.AWAITING_APPROVAL: "awaiting_approval",
            }.get(job.status)
            if announce and self.writeback and job.sentry_issue_id:
                send_writeback(self.celery, job, announce)
            if job.status == JobStatus.QUEUED:
                self._send(job)
        except (redis.RedisError, OperationalError, OSError) as exc:
            log.error("job %s: broker unavailable: %s", job.id, exc)
            raise BrokerUnavailable(f"broker unavailable: {exc}") from exc
        return job

    @staticmethod
    def _params_error(script: type[Script], spec: JobSpec) -> str | None:
        try:
            script.Params.model_validate(spec.params)
        except ValidationError as exc:
            return f"invalid params for {spec.script}: {exc}"
        return None

    def _send(self, job: Job) -> None:
        assert job.time_limit is not None
        self.celery.send_task(
            RUN_JOB_TASK,
            args=[job.id],
            task_id=job.id,
            queue=job.queue,
            priority=CLASS_TO_REDIS_PRIORITY[job.priority_class],
            time_limit=job.time_limit,
            soft_time_limit=soft_limit(job.time_limit),
        )

    def _decide(self, job_id: str, old: JobStatus, new: JobStatus, **fields: Any) -> Job:
        """Move a pending job on, or raise JobStateError saying why it cannot."""
        job = self.store.get(job_id)
        if job is None:
            raise JobStateError(f"no job {job_id}")
        if not self.store.transition(job_id, old, new, **fields):
            current = self.store.get(job_id)
            status = current.status.value if current else "gone"
            raise JobStateError(f"job {job_id} is {status}, not {old.value}")
        updated = self.store.get(job_id)
        assert updated is not None
        return updated

    def approve(self, job_id: str, by: str) -> Job:
        """A person approves a waiting job: it is queued (unless it has expired)."""
        job = self.store.get(job_id)
        if (
            job is not None
            and job.status == JobStatus.AWAITING_APPROVAL
            and (time.time() - job.created_at > self.approval_ttl)
        ):
            self.expire(job_id)
            raise JobStateError(f"job {job_id} waited over {self.approval_ttl:g}s: it has expired")
        job = self._decide(
            job_id, JobStatus.AWAITING_APPROVAL, JobStatus.QUEUED, approved_by=by, reason=f"approved by {by}"
        )
        self.store.client.zrem(AWAITING_KEY, job_id)
        self.store.add_note(job_id, "approval", ok=True, by=by)
        if self.writeback and job.sentry_issue_id:
            send_writeback(self.celery, job, "submitted")
        self._send(job)
        return job

    def reject(self, job_id: str, by: str, why: str = "") -> Job:
        """A person rejects a waiting job: it never runs."""
        reason = f"rejected by {by}" + (f": {why}" if why else "")
        job = self._decide(
            job_id,
            JobStatus.AWAITING_APPROVAL,
            JobStatus.REJECTED,
            approved_by=None,
            reason=reason,
            finished_at=time.time(),
        )
        self.store.client.zrem(AWAITING_KEY, job_id)
        self.store.add_note(job_id, "approval", ok=False, by=by, detail=why)
        self.store.release_slot(job)
        return job

    def expire(self, job_id: str) -> Job | None:
        """A waiting job nobody decided on in time."""
        try:
            job = self._decide(
                job_id,
                JobStatus.AWAITING_APPROVAL,
                JobStatus.EXPIRED,
                reason=f"not approved within {self.approval_ttl:g}s",
                finished_at=time.time(),
            )
        except JobStateError:
            return None
        finally:
            self.store.client.zrem(AWAITING_KEY, job_id)
        self.store.release_slot(job)
        return job

    def expire_stale(self) -> list[str]:
        """Expire every job that has waited for approval longer than the TTL."""
        cutoff = time.time() - self.approval_ttl
        stale = cast(list[str], self.store.client.zrangebyscore(AWAITING_KEY, "-inf", cutoff))
        return [job_id for job_id in stale if self.expire(job_id)]

    def release(self, job_id: str, by: str) -> Job:
        """Queue a job held while remediation was paused."""
        job = self._decide(job_id, JobStatus.HELD, JobStatus.QUEUED, reason=f"released by {by}")
        self.store.add_note(job_id, "release", ok=True, by=by)
        if self.writeback and job.sentry_issue_id:
            send_writeback(self.celery, job, "submitted")
        self._send(job)
        return job

    def discard(self, job_id: str, by: str) -> Job:
        """Drop a job held while remediation was paused."""
        job = self._decide(
            job_id, JobStatus.HELD, JobStatus.DISCARDED, reason=f"discarded by {by}", finished_at=time.time()
        )
        self.store.add_note(job_id, "discard", ok=True, by=by)
        return job

    def cancel_for_issue(self, issue_id: str, reason: str) -> list[str]:
        """Cancel the issue's jobs that have not started; returns their ids."""
        cancelled = []
        for job_id in self.store.jobs_for_issue(issue_id):
            for pending in (JobStatus.QUEUED, JobStatus.AWAITING_APPROVAL, JobStatus.HELD):
                if self.store.transition(
                    job_id, pending, JobStatus.CANCELLED, error=reason, finished_at=time.time()
                ):
                    cancelled.append(job_id)
                    break
        for job_id in cancelled:
            self.store.add_note(job_id, "cancel", ok=True, detail=reason)
            self.store.client.zrem(AWAITING_KEY, job_id)
            job = self.store.get(job_id)
            if job is not None:
                self.store.release_slot(job)
        if cancelled:
            # The claim in the worker refuses cancelled jobs anyway; revoking spares the trip.
            self.celery.control.revoke(cancelled)
        return cancelled


def dispatcher_for(settings: Settings, celery: Celery, store: JobStore) -> Dispatcher:
    """The dispatcher every process builds from the settings."""
    return Dispatcher(
        celery,
        store,
        writeback=settings.writeback_enabled,
        dry_run=settings.dry_run,
        tier_caps=settings.tier_max_runs,
        approval_ttl=settings.approval_ttl_seconds,
    )
