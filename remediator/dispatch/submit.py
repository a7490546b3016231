"""Submitting a planned job (the intake's caller): a durable record first, decided by the
gate in the same transaction, then the message on the tier's queue."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import redis
from celery import Celery
from kombu.exceptions import OperationalError
from pydantic import ValidationError

from remediator.defaults import (
    APPROVAL_TTL_SECONDS,
    CLASS_TO_REDIS_PRIORITY,
    FOLLOWUP_PRIORITY,
    RUN_JOB_TASK,
    SETTLE_TASK,
)
from remediator.dispatch.job_message import JobMessages
from remediator.durations import span_text
from remediator.errors import BrokerUnavailable
from remediator.jobs import Job, JobStatus, rollouts
from remediator.jobs.gate import Gate
from remediator.jobs.keys import AWAITING_KEY, settle_key
from remediator.lifecycle import Lifecycle, event_for
from remediator.payloads import Subject
from remediator.remediation_scripts import get_script
from remediator.rules.engine import JobSpec
from remediator.rules.rollout import canary_dry_run
from remediator.rules.settling import settle_for
from remediator.scripts import Script

log = logging.getLogger(__name__)

SOFT_LIMIT_MARGIN = 5
"""Seconds between the soft time limit (an exception the job records) and the kill."""


def soft_limit(hard: int) -> float:
    """The soft limit for a hard one: a margin before it, at most a tenth of it."""
    return hard - min(SOFT_LIMIT_MARGIN, hard / 10)


TITLE_KEPT = 300
"""Characters of the Sentry title kept on the job record."""

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


class Submission:
    """What every part of the dispatcher stands on: the lifecycle, the store, the gate, and
    sending a job's message; and the intake's submission."""

    def __init__(
        self,
        celery: Celery,
        lifecycle: Lifecycle,
        dry_run: bool = False,
        tier_caps: dict[str, tuple[int, float]] | None = None,
        approval_ttl: float = APPROVAL_TTL_SECONDS,
        two_person: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset()),
    ) -> None:
        self.celery = celery
        self.lifecycle = lifecycle
        self.store = lifecycle.store
        self.dry_run = dry_run
        """Global dry run: every match is evaluated and recorded, nothing runs."""
        self.gate = Gate(self.store.client, tier_caps or {})
        self.approval_ttl = approval_ttl
        self.two_person = two_person
        """(the classes, the tiers) whose jobs need two approvers unless their rule says."""
        self.messages = JobMessages(celery)
        self.in_transaction = self.messages.available_for(self.store.client)
        """Whether a job's message is written in the gate's transaction (a Redis broker on
        the store's server) rather than sent after it."""

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
            approvers_needed=self._approvers(spec),
        )
        error = spec.render_error or self._params_error(script, spec)
        try:
            if error is not None:
                job.status, job.error, job.finished_at = JobStatus.FAILED, error, time.time()
                self.store.create(job, event=event_for(None, job.status).value, counts=self._counts(job))
                return self.lifecycle.created(job)
            ttl = active_ttl(job.time_limit, self.approval_ttl)
            # What the job becomes if every limit lets it through; the record is written in
            # the gate's own transaction and corrected below when a limit says otherwise.
            job.status, job.reason = presumed_status(spec, self.dry_run)
            canary = self._canary_dry_run(spec, subject) if job.status != JobStatus.DRY_RUN else None
            if canary is not None:
                job.status, job.reason = JobStatus.DRY_RUN, canary
            dry = job.status == JobStatus.DRY_RUN
            wait, why = 0.0, None
            if job.status == JobStatus.QUEUED:
                wait, why = settle_for(spec.settle, spec.priority_class, self._learned(spec))
            if wait > 0:
                job.settle_until, job.settle_note = job.created_at + wait, why

            def record(pipe: Any) -> None:
                self.store.queue_create(
                    pipe, job, event=event_for(None, job.status).value, counts=self._counts(job)
                )
                if job.status == JobStatus.AWAITING_APPROVAL:
                    pipe.zadd(AWAITING_KEY, {job.id: job.created_at})

            in_step = self.in_transaction and job.status == JobStatus.QUEUED and not wait
            publish = self._message(job) if in_step else []
            verdict = self.gate.decide(
                spec, subject, job.id, reserve=not dry, active_ttl=ttl, then=record, publish=publish
            )
            if verdict.status != JobStatus.QUEUED:
                presumed = job.status
                job.status, job.reason, job.related_job = verdict.status, verdict.reason, verdict.related_job
                self.store.transition(
                    job,
                    presumed,
                    job.status,
                    event=event_for(None, job.status).value,
                    replace_event=True,
                    counts=self._counts(job, instead_of=presumed),
                    reason=job.reason,
                    related_job=job.related_job,
                )
                if presumed == JobStatus.AWAITING_APPROVAL:
                    self.store.client.zrem(AWAITING_KEY, job.id)
            self.lifecycle.created(job)
            if job.status == JobStatus.QUEUED and wait:
                self._settle(job, wait)
            elif job.status == JobStatus.QUEUED and not publish:
                self._send(job)
        except (redis.RedisError, OperationalError, OSError) as exc:
            log.error("job %s: broker unavailable: %s", job.id, exc)
            raise BrokerUnavailable(f"broker unavailable: {exc}") from exc
        return job

    def _counts(self, job: Job, instead_of: JobStatus | None = None) -> dict[str, int]:
        """The trend counters of a new record in its status (minus those of the status it
        was written in, when the gate corrected it)."""
        bus = self.lifecycle.bus
        counts = bus.counts(event_for(None, job.status), job, job.created_at)
        if instead_of is not None:
            for name, n in bus.counts(event_for(None, instead_of), job, job.created_at).items():
                counts[name] = counts.get(name, 0) - n
        return {name: n for name, n in counts.items() if n}

    def _approvers(self, spec: JobSpec) -> int:
        """How many different people approve the job: the rule's number, else two for the
        two-person classes on the approval tiers, else one."""
        if not spec.approval:
            return 1
        classes, tiers = self.two_person
        return spec.approvers or (2 if spec.priority_class.value in classes and spec.tier in tiers else 1)

    @staticmethod
    def _params_error(script: type[Script], spec: JobSpec) -> str | None:
        try:
            script.Params.model_validate(spec.params)
        except ValidationError as exc:
            return f"invalid params for {spec.script}: {exc}"
        return None

    def _options(self, job: Job) -> dict[str, Any]:
        assert job.time_limit is not None
        return {
            "queue": job.queue,
            "priority": CLASS_TO_REDIS_PRIORITY[job.priority_class],
            "time_limit": job.time_limit,
            "soft_time_limit": soft_limit(job.time_limit),
        }

    def _message(self, job: Job) -> list[tuple[str, str, str]]:
        """The job's message as Redis commands for the gate's transaction."""
        return self.messages.build(RUN_JOB_TASK, [job.id], job.id, **self._options(job))

    def _canary_dry_run(self, spec: JobSpec, subject: Subject) -> str | None:
        """Why a job of a rule in canary only dry-runs (production, not promoted yet)."""
        if spec.rollout is None:
            return None
        promote_after, _, rule_hash = spec.rollout
        return canary_dry_run(
            rollouts.current(self.store.client, spec.rule, rule_hash), subject.environment, promote_after
        )

    def _learned(self, spec: JobSpec) -> tuple[float, str] | None:
        """What `settle: auto` learned for the spec's rule (None: nothing yet, or not auto)."""
        if spec.settle != "auto":
            return None
        raw = self.store.client.get(settle_key(spec.rule))
        if not raw:
            return None
        learned = json.loads(raw)
        return float(learned["seconds"]), str(learned["why"])

    def _settle(self, job: Job, wait: float) -> None:
        """Let the job settle: the settle task, `wait` seconds from now, cancels it when
        Sentry resolved the issue meanwhile, else sends its message."""
        try:
            self.celery.send_task(
                SETTLE_TASK,
                args=[job.id],
                queue=job.queue,
                priority=FOLLOWUP_PRIORITY,
                countdown=wait,
                ignore_result=True,
            )
        except (redis.RedisError, OperationalError, OSError) as exc:
            log.error("job %s: recorded settling, its settle task not sent: %s", job.id, exc)
            raise BrokerUnavailable(f"broker unavailable: {exc}") from exc
        self.store.add_note(
            job.id, "settle", ok=True, detail=f"waits {span_text(wait)} before it runs: {job.settle_note}"
        )

    def send_settled(self, job: Job) -> None:
        """Send the message of a job that has settled (the settle task, when the issue is
        still open)."""
        self._send(job)

    def _send(self, job: Job) -> None:
        """Send the job's message after its record was written (approvals, releases, and
        brokers the transaction cannot include)."""
        options = self._options(job)
        try:
            self.celery.send_task(RUN_JOB_TASK, args=[job.id], task_id=job.id, ignore_result=True, **options)
        except (redis.RedisError, OperationalError, OSError) as exc:
            # The record says queued and no message followed it: the sweep's reconciliation
            # finds it (docs/architecture.md, "One transaction").
            log.error("job %s: recorded queued, its message not sent: %s", job.id, exc)
            raise BrokerUnavailable(f"broker unavailable: {exc}") from exc
