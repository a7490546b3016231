"""Submitting planned jobs: a durable record first, then the message on the tier's queue;
and the operators' decisions on jobs that wait (approval, pause)."""

from __future__ import annotations

import json
import logging
import time
from typing import Any, cast

import redis
from celery import Celery
from kombu.exceptions import OperationalError
from pydantic import ValidationError

from remediator.defaults import APPROVAL_TTL_SECONDS, CLASS_TO_REDIS_PRIORITY, RUN_JOB_TASK
from remediator.errors import BrokerUnavailable, JobNotFound, JobStateError
from remediator.jobs import Job, JobStatus, controls
from remediator.jobs.gate import Gate
from remediator.jobs.keys import (
    AWAITING_KEY,
    RECONCILE_LOCK_KEY,
    seer_run_key,
    seer_stages_key,
    status_index,
)
from remediator.jobs.queues import message_task_ids
from remediator.lifecycle import Event, EventKind, Lifecycle, event_for
from remediator.payloads import Subject
from remediator.remediation_scripts import get_script, registry
from remediator.rules import RuleSet
from remediator.rules.engine import JobSpec
from remediator.scripts import Script
from remediator.settings import Settings

log = logging.getLogger(__name__)

SOFT_LIMIT_MARGIN = 5
"""Seconds between the soft time limit (an exception the job records) and the kill."""


def soft_limit(hard: int) -> float:
    """The soft limit for a hard one: a margin before it, at most a tenth of it."""
    return hard - min(SOFT_LIMIT_MARGIN, hard / 10)


TITLE_KEPT = 300
"""Characters of the Sentry title kept on the job record."""

RECONCILE_LOCK_SECONDS = 60
RECONCILE_SECOND_LOOK_SECONDS = 0.5

SEER_STAGES_KEPT = 86400
"""Seconds a Seer stage waits for its job's script to read it."""

TAGS_KEPT = ("repository", "pull_request", "commit", "branch")
"""The Sentry event's tags kept on the job record (where a build or change came from)."""


def presumed_status(spec: JobSpec, global_dry_run: bool) -> tuple[JobStatus, str | None]:
    """What a planned job becomes if every limit of the gate lets it through: a dry run,
    waiting for approval, or queued."""
    if spec.dry_run or global_dry_run:
        return JobStatus.DRY_RUN, f"dry run: would queue {spec.script} on {spec.tier}"
    if spec.approval:
        return JobStatus.AWAITING_APPROVAL, "approval required before it runs"
    return JobStatus.QUEUED, None


def active_ttl(time_limit: int | None, approval_ttl: float) -> float:
    """How long a job's key stays held at most if nothing frees it (it waited for approval
    and ran to its limit), plus a margin."""
    return (time_limit or 3600) + approval_ttl + 300


class Dispatcher:
    """Turns JobSpecs into job records, and queues those that may run."""

    def __init__(
        self,
        celery: Celery,
        lifecycle: Lifecycle,
        dry_run: bool = False,
        tier_caps: dict[str, tuple[int, float]] | None = None,
        approval_ttl: float = APPROVAL_TTL_SECONDS,
    ) -> None:
        self.celery = celery
        self.lifecycle = lifecycle
        self.store = lifecycle.store
        self.dry_run = dry_run
        """Global dry run: every match is evaluated and recorded, nothing runs."""
        self.gate = Gate(self.store.client, tier_caps or {})
        self.approval_ttl = approval_ttl

    def submit(self, spec: JobSpec, subject: Subject) -> Job:
        """Decide the job's fate (see jobs.gate.Gate), record it, and queue it if it may run.
        A job whose params are invalid is recorded as failed and never queued."""
        script = get_script(spec.script)
        job = Job(
            rule=spec.rule,
            script=spec.script,
            tier=spec.tier,
            priority_class=spec.priority_class,
            class_reason=spec.class_reason,
            release_note=spec.release_note,
            namespace=spec.namespace,
            params=spec.params,
            sentry_issue_id=subject.issue_id,
            sentry_event_id=subject.event_id,
            sentry_title=subject.title[:TITLE_KEPT] or None,
            sentry_tags={k: subject.tags[k][:200] for k in TAGS_KEPT if subject.tags.get(k)},
            # The slug; an event's id when no rule needed the slug looked up.
            sentry_project=subject.project or subject.project_id or None,
            sentry_resource=subject.resource,
            sentry_action=subject.action,
            queue=spec.queue,
            time_limit=spec.time_limit or script.time_limit,
            verify_after=spec.verify_after,
            resolve_issue=spec.resolve_issue,
            verification=spec.verification or script.verification,
            storm_key=spec.key,
            breaker_after=spec.breaker_after,
        )
        error = spec.render_error or self._params_error(script, spec)
        try:
            if error is not None:
                job.status, job.error, job.finished_at = JobStatus.FAILED, error, time.time()
                self.store.create(job, event=event_for(None, job.status).value)
                return self.lifecycle.created(job)
            ttl = active_ttl(job.time_limit, self.approval_ttl)
            # What the job becomes if every limit lets it through; the record is written in
            # the gate's own transaction and corrected below when a limit says otherwise.
            job.status, job.reason = presumed_status(spec, self.dry_run)
            dry = job.status == JobStatus.DRY_RUN

            def record(pipe: Any) -> None:
                self.store.queue_create(pipe, job, event=event_for(None, job.status).value)
                if job.status == JobStatus.AWAITING_APPROVAL:
                    pipe.zadd(AWAITING_KEY, {job.id: job.created_at})

            verdict = self.gate.decide(spec, subject, job.id, reserve=not dry, active_ttl=ttl, then=record)
            if verdict.status != JobStatus.QUEUED:
                presumed = job.status
                job.status, job.reason, job.related_job = verdict.status, verdict.reason, verdict.related_job
                self.store.transition(
                    job,
                    presumed,
                    job.status,
                    event=event_for(None, job.status).value,
                    replace_event=True,
                    reason=job.reason,
                    related_job=job.related_job,
                )
                if presumed == JobStatus.AWAITING_APPROVAL:
                    self.store.client.zrem(AWAITING_KEY, job.id)
            self.lifecycle.created(job)
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

    def approve(self, job_id: str, by: str) -> Job:
        """A person approves a waiting job: it is queued (unless it has expired)."""
        job = self.store.get(job_id)
        if job is None:
            raise JobNotFound(f"no job {job_id}")
        if job.status == JobStatus.AWAITING_APPROVAL and time.time() - job.created_at > self.approval_ttl:
            self.expire(job_id)
            raise JobStateError(f"job {job_id} waited over {self.approval_ttl:g}s: it has expired")
        job = self.lifecycle.decide(
            job_id,
            JobStatus.AWAITING_APPROVAL,
            JobStatus.QUEUED,
            actor=by,
            approved_by=by,
            reason=f"approved by {by}",
        )
        self.store.client.zrem(AWAITING_KEY, job_id)
        self._send(job)
        return job

    def reject(self, job_id: str, by: str, why: str = "") -> Job:
        """A person rejects a waiting job: it never runs."""
        job = self.lifecycle.decide(
            job_id,
            JobStatus.AWAITING_APPROVAL,
            JobStatus.REJECTED,
            actor=by,
            approved_by=None,
            reason=f"rejected by {by}" + (f": {why}" if why else ""),
            finished_at=time.time(),
        )
        self.store.client.zrem(AWAITING_KEY, job_id)
        return job

    def expire(self, job_id: str) -> Job | None:
        """A waiting job nobody decided on in time (None if it was decided meanwhile)."""
        try:
            return self.lifecycle.decide(
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

    def expire_stale(self) -> list[str]:
        """Expire every job that has waited for approval longer than the TTL."""
        cutoff = time.time() - self.approval_ttl
        stale = cast(list[str], self.store.client.zrangebyscore(AWAITING_KEY, "-inf", cutoff))
        return [job_id for job_id in stale if self.expire(job_id)]

    def release(self, job_id: str, by: str) -> Job:
        """Queue a job held while remediation was paused."""
        job = self.lifecycle.decide(
            job_id, JobStatus.HELD, JobStatus.QUEUED, actor=by, reason=f"released by {by}"
        )
        self._send(job)
        return job

    def discard(self, job_id: str, by: str) -> Job:
        """Drop a job held while remediation was paused."""
        return self.lifecycle.decide(
            job_id,
            JobStatus.HELD,
            JobStatus.DISCARDED,
            actor=by,
            reason=f"discarded by {by}",
            finished_at=time.time(),
        )

    def seer_progress(
        self, action: str, run_id: str, data: dict[str, Any], issue_id: str | None = None
    ) -> str | None:
        """A Seer run reached a stage: a note, a timeline entry and a `seer_progress` event on
        its job (found by the run's id, else the issue's running analysis), and the stage
        handed to the job's waiting script. None: no job has that run."""
        job_id = cast(str | None, self.store.client.get(seer_run_key(run_id)))
        job = self.store.get(job_id) if job_id else None
        if job is None and issue_id:
            running = [
                j
                for j in self.store.get_many(self.store.jobs_for_issue(issue_id))
                if j.script == "analyze-production-error" and j.status is JobStatus.RUNNING
            ]
            job = self.store.get(running[-1].id) if running else None
        if job is None:
            return None
        self.store.add_note(job.id, "seer", action=action, run_id=run_id)
        self.store.add_event(job.id, EventKind.SEER_PROGRESS.value, actor="seer", action=action)
        with self.store.client.pipeline() as pipe:
            pipe.rpush(seer_stages_key(job.id), json.dumps({"action": action, "data": data}))
            pipe.expire(seer_stages_key(job.id), SEER_STAGES_KEPT)
            pipe.execute()
        self.lifecycle.emit(Event.for_job(EventKind.SEER_PROGRESS, job, actor="seer", action=action))
        return job.id

    def reconcile(self, tiers: tuple[str, ...], older_than: float) -> dict[str, list[str]]:
        """Jobs recorded `queued` longer than `older_than` seconds whose message is on no
        list and in no worker's hands (Redis failed between the record and the publish, or
        a message was purged): queue the idempotent ones again, mark the rest
        `needs_attention`. Looked at twice, a moment apart, so a message in flight between
        a list and a worker is never taken for lost."""
        client = self.store.client
        if not client.set(RECONCILE_LOCK_KEY, "1", nx=True, ex=RECONCILE_LOCK_SECONDS):
            return {"requeued": [], "needs_attention": []}
        horizon = time.time() - older_than
        queued = client.zrangebyscore(status_index(JobStatus.QUEUED), "-inf", horizon)
        candidates = set(cast(list[str], queued))
        lost = candidates - message_task_ids(client, tiers) if candidates else set()
        if lost:
            time.sleep(RECONCILE_SECOND_LOOK_SECONDS)
            lost -= message_task_ids(client, tiers)
        outcome: dict[str, list[str]] = {"requeued": [], "needs_attention": []}
        for job_id in sorted(lost):
            job = self.store.get(job_id)
            if job is None or job.status != JobStatus.QUEUED or job.tier not in tiers:
                continue
            script = registry().get(job.script)
            if script is not None and script.idempotent:
                self._send(job)
                self.store.add_note(
                    job.id, "reconcile", ok=True, detail="no message for it was on the broker: queued again"
                )
                outcome["requeued"].append(job.id)
            elif self.lifecycle.move(
                job,
                JobStatus.QUEUED,
                JobStatus.NEEDS_ATTENTION,
                reason=(
                    "no message for it was on the broker (lost between its record and its publish); "
                    f"{job.script!r} is not idempotent, so it is not queued again blindly: resubmit it"
                ),
                finished_at=time.time(),
            ):
                outcome["needs_attention"].append(job.id)
        if outcome["requeued"] or outcome["needs_attention"]:
            log.warning("reconciliation: %s", outcome)
        return outcome

    def issue_resolved(self, issue_id: str) -> None:
        """Sentry resolved an issue: one `issue_resolved` event per rule that acted on it (a
        PagerDuty incident the rule opened for it is resolved by the notify listener)."""
        jobs = self.store.get_many(self.store.jobs_for_issue(issue_id))
        for rule, tier in sorted({(job.rule, job.tier) for job in jobs}):
            self.lifecycle.emit(
                Event(kind=EventKind.ISSUE_RESOLVED, rule=rule, tier=tier, detail={"issue_id": issue_id})
            )

    def cancel_for_issue(self, issue_id: str, reason: str) -> list[str]:
        """Cancel the issue's jobs that have not started; returns their ids."""
        cancelled = []
        for job_id in self.store.jobs_for_issue(issue_id):
            job = self.store.get(job_id)
            if job is None:
                continue
            for pending in (JobStatus.QUEUED, JobStatus.AWAITING_APPROVAL, JobStatus.HELD):
                if job.status == pending and self.lifecycle.move(
                    job,
                    pending,
                    JobStatus.CANCELLED,
                    detail={"reason": reason},
                    error=reason,
                    finished_at=time.time(),
                ):
                    cancelled.append(job_id)
                    self.store.client.zrem(AWAITING_KEY, job_id)
                    break
        if cancelled:
            # The claim in the worker refuses cancelled jobs anyway; revoking spares the trip.
            self.celery.control.revoke(cancelled)
        return cancelled


def dispatcher_for(settings: Settings, celery: Celery, lifecycle: Lifecycle) -> Dispatcher:
    """The dispatcher every process builds from the settings."""
    return Dispatcher(
        celery,
        lifecycle,
        dry_run=settings.dry_run,
        tier_caps=settings.tier_max_runs,
        approval_ttl=settings.approval_ttl_seconds,
    )


def reenable_rule(rules: RuleSet, lifecycle: Lifecycle, name: str, by: str) -> bool:
    """Close a rule's circuit breaker (RuleNotFound for a rule not in the file); returns
    whether it was open. Emits breaker_closed when it was."""
    rule = rules.get(name)
    was_open = controls.enable_rule(lifecycle.store.client, name)
    if was_open:
        lifecycle.emit(Event(kind=EventKind.BREAKER_CLOSED, rule=name, tier=rule.job.tier, actor=by))
    return was_open
