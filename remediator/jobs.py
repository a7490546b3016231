"""Job records: what was asked, where it ran and how it ended, kept in Redis."""

from __future__ import annotations

import json
import time
import uuid
from enum import StrEnum
from typing import Any, cast

import redis
from pydantic import BaseModel, Field

from remediator import controls
from remediator.defaults import KEY_PREFIX, PriorityClass


class JobStatus(StrEnum):
    """Where a job is in its life."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    VERIFIED = "verified"
    """Succeeded, and Sentry saw no new events in the verification window."""
    INEFFECTIVE = "ineffective"
    """Succeeded, but the issue kept producing events."""
    CANCELLED = "cancelled"
    """The issue was resolved or ignored before the job started."""
    DUPLICATE = "duplicate"
    """A repeated delivery of content already handled (see related_job)."""
    THROTTLED = "throttled"
    """once_within, max_runs or the tier's cap said no (see reason)."""
    COALESCED = "coalesced"
    """Another job of the rule for the same key was pending or running (see related_job)."""
    SUPPRESSED = "suppressed"
    """The rule's circuit breaker is open."""
    HELD = "held"
    """Remediation is paused; release or discard it."""
    DISCARDED = "discarded"
    """A held job an operator chose not to run."""
    DRY_RUN = "dry_run"
    """Evaluated and recorded; nothing ran."""
    AWAITING_APPROVAL = "awaiting_approval"
    """Waiting for a person to approve or reject it."""
    REJECTED = "rejected"
    """A person said no."""
    EXPIRED = "expired"
    """Nobody approved it in time."""
    NEEDS_ATTENTION = "needs_attention"
    """Not re-run blindly after a crash: its script is not idempotent."""


PENDING = frozenset({JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.HELD, JobStatus.AWAITING_APPROVAL})
"""Statuses a job can still leave by running or by a decision."""

FINISHED = frozenset(set(JobStatus) - PENDING)
"""Statuses after which a job never runs (again)."""

OUTCOMES = ("succeeded", "failed", "verified", "ineffective")
"""Outcomes counted per rule."""


class Job(BaseModel):
    """One remediation job, from submission to outcome."""

    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    status: JobStatus = JobStatus.QUEUED
    rule: str
    script: str
    tier: str
    priority_class: PriorityClass
    namespace: str
    params: dict[str, Any] = Field(default_factory=dict)
    sentry_issue_id: str | None = None
    sentry_event_id: str | None = None
    sentry_resource: str | None = None
    sentry_action: str | None = None
    queue: str
    time_limit: int | None = None
    """Hard limit in seconds; the worker kills the job after it."""
    verify_after: float | None = None
    """Seconds after success at which Sentry is asked whether the issue went quiet."""
    resolve_issue: bool = True
    """Whether verification resolves the Sentry issue (else it only comments)."""
    worker: str | None = None
    attempts: int = 0
    created_at: float = Field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    verified_at: float | None = None
    output: dict[str, Any] | None = None
    error: str | None = None
    reason: str | None = None
    """Why the job is in a status it did not run to (throttled, held, duplicate...)."""
    related_job: str | None = None
    """The job this one is a duplicate of, was coalesced into, or was throttled by."""
    storm_key: str | None = None
    """The rule's key for once_within and concurrency."""
    breaker_after: int = 0
    """The rule's circuit-breaker threshold when the job was submitted."""
    approved_by: str | None = None
    notes: list[dict[str, Any]] = Field(default_factory=list)
    """What happened around the job: write-backs to Sentry, verification, cancellation."""

    def summary(self) -> dict[str, Any]:
        """The fields the webhook answers with."""
        return {
            "id": self.id,
            "rule": self.rule,
            "script": self.script,
            "tier": self.tier,
            "priority_class": self.priority_class.value,
            "status": self.status.value,
        }

    @property
    def duration(self) -> float | None:
        """Seconds from start to finish, once finished."""
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at


def _job_key(job_id: str) -> str:
    return f"{KEY_PREFIX}job:{job_id}"


def _notes_key(job_id: str) -> str:
    return f"{KEY_PREFIX}job:{job_id}:notes"


def _issue_key(issue_id: str) -> str:
    return f"{KEY_PREFIX}issue:{issue_id}:jobs"


def _stats_key(rule: str) -> str:
    return f"{KEY_PREFIX}rule-stats:{rule}"


INDEX_KEY = f"{KEY_PREFIX}jobs"
"""Sorted set of job ids by creation time, newest last."""

LIST_SCAN_LIMIT = 5000
"""How many of the newest jobs a filtered listing looks through."""

_Q = json.dumps(JobStatus.QUEUED.value)
_R = json.dumps(JobStatus.RUNNING.value)

# Start an attempt only if the job may still run: queued, or running (a redelivery after a
# crash). Atomic, so a cancellation and a start never both win.
_CLAIM = f"""
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= '{_Q}' and status ~= '{_R}' then return false end
local attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('HSET', KEYS[1], 'status', '{_R}', 'worker', ARGV[1], 'started_at', ARGV[2])
return attempts
"""

# Move a job from one status to another only if it is still in the first.
_TRANSITION = """
if redis.call('HGET', KEYS[1], 'status') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[2])
for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1
"""


_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def redis_client(url: str, connect_timeout: float = 2.0) -> redis.Redis:
    """A client for the job store with short timeouts, so a dead Redis fails fast."""
    return redis.Redis.from_url(
        url,
        decode_responses=True,
        socket_connect_timeout=connect_timeout,
        socket_timeout=5,
        health_check_interval=30,
    )


def _decode(raw: dict[str, str], notes: list[str]) -> Job:
    fields = {k: json.loads(v) for k, v in raw.items()}
    fields["notes"] = [json.loads(n) for n in notes]
    return Job.model_validate(fields)


def _encode(fields: dict[str, Any]) -> dict[Any, Any]:
    return {k: json.dumps(v.value if isinstance(v, StrEnum) else v) for k, v in fields.items()}


class JobStore:
    """Job records as Redis hashes (one field per attribute, so updates never race)."""

    def __init__(self, client: redis.Redis, retention_days: int = 30) -> None:
        self.client = client
        self.ttl = retention_days * 86400
        self._claim = client.register_script(_CLAIM)
        self._transition = client.register_script(_TRANSITION)
        self._release = client.register_script(_RELEASE)

    def create(self, job: Job) -> Job:
        """Store a new job record."""
        with self.client.pipeline() as pipe:
            self.queue_create(pipe, job)
            pipe.execute()
        return job

    def queue_create(self, pipe: Any, job: Job) -> None:
        """Add the commands that store a new record to a pipeline (executed by the caller)."""
        fields = job.model_dump(mode="json", exclude={"notes"})
        pipe.hset(_job_key(job.id), mapping=_encode(fields))
        pipe.expire(_job_key(job.id), self.ttl)
        pipe.zadd(INDEX_KEY, {job.id: job.created_at})
        pipe.zremrangebyscore(INDEX_KEY, "-inf", time.time() - self.ttl)
        if job.sentry_issue_id:
            pipe.sadd(_issue_key(job.sentry_issue_id), job.id)
            pipe.expire(_issue_key(job.sentry_issue_id), self.ttl)

    def get(self, job_id: str) -> Job | None:
        """The job record, or None if there is none (or it has expired)."""
        with self.client.pipeline(transaction=False) as pipe:
            pipe.hgetall(_job_key(job_id))
            pipe.lrange(_notes_key(job_id), 0, -1)
            raw, notes = pipe.execute()
        return _decode(raw, notes) if raw else None

    def update(self, job_id: str, **fields: Any) -> None:
        """Set some fields of an existing record."""
        self.client.hset(_job_key(job_id), mapping=_encode(fields))

    def transition(self, job_id: str, old: JobStatus, new: JobStatus, **fields: Any) -> bool:
        """Move a job from status old to new (setting fields) only if it is still old."""
        args: list[Any] = [json.dumps(old.value), json.dumps(new.value)]
        for key, value in _encode(fields).items():
            args += [key, value]
        return bool(self._transition(keys=[_job_key(job_id)], args=args))

    def release_slot(self, job: Job) -> None:
        """Free the rule's concurrency slot for the job's key, if the job still holds it."""
        if job.storm_key is not None:
            self._release(keys=[controls.active_key(job.rule, job.storm_key)], args=[job.id])

    def claim(self, job_id: str, worker: str) -> int | None:
        """Start an attempt if the job may run; returns the attempt number, or None."""
        attempts = self._claim(keys=[_job_key(job_id)], args=[json.dumps(worker), json.dumps(time.time())])
        return int(attempts) if attempts else None

    def add_note(self, job_id: str, kind: str, **detail: Any) -> None:
        """Append a note (write-back, verification, cancellation...) to the job."""
        note = json.dumps({"kind": kind, "at": time.time(), **detail})
        with self.client.pipeline() as pipe:
            pipe.rpush(_notes_key(job_id), note)
            pipe.expire(_notes_key(job_id), self.ttl)
            pipe.execute()

    def jobs_for_issue(self, issue_id: str) -> list[str]:
        """Ids of the jobs submitted for a Sentry issue."""
        return sorted(cast(set[str], self.client.smembers(_issue_key(issue_id))))

    def finish(self, job: Job, outcome: str, resets_breaker: bool, **fields: Any) -> None:
        """Record a run's outcome in one round trip: the fields, the freed concurrency slot
        and the rule's counts; the breaker is consulted only after a bad outcome."""
        with self.client.pipeline() as pipe:
            pipe.hset(_job_key(job.id), mapping=_encode(fields))
            if job.storm_key is not None:
                self._release(keys=[controls.active_key(job.rule, job.storm_key)], args=[job.id], client=pipe)
            pipe.hincrby(_stats_key(job.rule), outcome, 1)
            if resets_breaker:
                pipe.hset(controls.breaker_key(job.rule), "consecutive", 0)
            pipe.execute()
        if outcome in controls.BAD_OUTCOMES:
            reason = controls.note_outcome(
                self.client, job.rule, outcome, job.id, job.breaker_after, resets=False
            )
            if reason:
                self.add_note(job.id, "breaker", ok=False, detail=f"rule {job.rule!r} disabled: {reason}")

    def count_outcome(self, job: Job, outcome: str, resets_breaker: bool = False) -> str | None:
        """Count one outcome (succeeded, failed, verified, ineffective) against the job's
        rule and feed its circuit breaker; returns the reason if the breaker opened."""
        self.client.hincrby(_stats_key(job.rule), outcome, 1)
        reason = controls.note_outcome(
            self.client, job.rule, outcome, job.id, job.breaker_after, resets_breaker
        )
        if reason:
            self.add_note(job.id, "breaker", ok=False, detail=f"rule {job.rule!r} disabled: {reason}")
        return reason

    def rule_stats(self, rules: list[str]) -> dict[str, dict[str, int]]:
        """Outcome counts per rule (zero where none yet)."""
        with self.client.pipeline(transaction=False) as pipe:
            for rule in rules:
                pipe.hgetall(_stats_key(rule))
            rows = pipe.execute()
        return {
            rule: {o: int(row.get(o, 0)) for o in OUTCOMES} for rule, row in zip(rules, rows, strict=True)
        }

    def list(
        self,
        status: str | None = None,
        tier: str | None = None,
        rule: str | None = None,
        limit: int = 50,
    ) -> list[Job]:
        """The newest jobs first, filtered."""
        ids = cast(list[str], self.client.zrevrange(INDEX_KEY, 0, LIST_SCAN_LIMIT - 1))
        found: list[Job] = []
        for start in range(0, len(ids), 200):
            with self.client.pipeline(transaction=False) as pipe:
                for job_id in ids[start : start + 200]:
                    pipe.hgetall(_job_key(job_id))
                    pipe.lrange(_notes_key(job_id), 0, -1)
                rows = pipe.execute()
            for raw, notes in zip(rows[::2], rows[1::2], strict=True):
                if not raw:
                    continue
                job = _decode(raw, notes)
                if (
                    (status and job.status != status)
                    or (tier and job.tier != tier)
                    or (rule and job.rule != rule)
                ):
                    continue
                found.append(job)
                if len(found) >= limit:
                    return found
        return found
