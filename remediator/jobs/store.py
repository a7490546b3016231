"""The job store: job records, their notes and per-rule counts, kept in Redis."""

from __future__ import annotations

import json
import time
from enum import StrEnum
from typing import Any, cast

import redis

from remediator.jobs import controls
from remediator.jobs.keys import INDEX_KEY, active_key, breaker_key, issue_key, job_key, notes_key, stats_key
from remediator.jobs.model import OUTCOMES, Job, JobStatus

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
        pipe.hset(job_key(job.id), mapping=_encode(fields))
        pipe.expire(job_key(job.id), self.ttl)
        pipe.zadd(INDEX_KEY, {job.id: job.created_at})
        pipe.zremrangebyscore(INDEX_KEY, "-inf", time.time() - self.ttl)
        if job.sentry_issue_id:
            pipe.sadd(issue_key(job.sentry_issue_id), job.id)
            pipe.expire(issue_key(job.sentry_issue_id), self.ttl)

    def get(self, job_id: str) -> Job | None:
        """The job record, or None if there is none (or it has expired)."""
        with self.client.pipeline(transaction=False) as pipe:
            pipe.hgetall(job_key(job_id))
            pipe.lrange(notes_key(job_id), 0, -1)
            raw, notes = pipe.execute()
        return _decode(raw, notes) if raw else None

    def update(self, job_id: str, **fields: Any) -> None:
        """Set some fields of an existing record."""
        self.client.hset(job_key(job_id), mapping=_encode(fields))

    def transition(self, job_id: str, old: JobStatus, new: JobStatus, **fields: Any) -> bool:
        """Move a job from status old to new (setting fields) only if it is still old."""
        args: list[Any] = [json.dumps(old.value), json.dumps(new.value)]
        for key, value in _encode(fields).items():
            args += [key, value]
        return bool(self._transition(keys=[job_key(job_id)], args=args))

    def release_slot(self, job: Job) -> None:
        """Free the rule's concurrency slot for the job's key, if the job still holds it."""
        if job.storm_key is not None:
            self._release(keys=[active_key(job.rule, job.storm_key)], args=[job.id])

    def claim(self, job_id: str, worker: str) -> int | None:
        """Start an attempt if the job may run; returns the attempt number, or None."""
        attempts = self._claim(keys=[job_key(job_id)], args=[json.dumps(worker), json.dumps(time.time())])
        return int(attempts) if attempts else None

    def add_note(self, job_id: str, kind: str, **detail: Any) -> None:
        """Append a note (write-back, verification, cancellation...) to the job."""
        note = json.dumps({"kind": kind, "at": time.time(), **detail})
        with self.client.pipeline() as pipe:
            pipe.rpush(notes_key(job_id), note)
            pipe.expire(notes_key(job_id), self.ttl)
            pipe.execute()

    def jobs_for_issue(self, issue_id: str) -> list[str]:
        """Ids of the jobs submitted for a Sentry issue."""
        return sorted(cast(set[str], self.client.smembers(issue_key(issue_id))))

    def finish(self, job: Job, outcome: str, resets_breaker: bool, **fields: Any) -> None:
        """Record a run's outcome in one round trip: the fields, the freed concurrency slot
        and the rule's counts; the breaker is consulted only after a bad outcome."""
        with self.client.pipeline() as pipe:
            pipe.hset(job_key(job.id), mapping=_encode(fields))
            if job.storm_key is not None:
                self._release(keys=[active_key(job.rule, job.storm_key)], args=[job.id], client=pipe)
            pipe.hincrby(stats_key(job.rule), outcome, 1)
            if resets_breaker:
                pipe.hset(breaker_key(job.rule), "consecutive", 0)
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
        self.client.hincrby(stats_key(job.rule), outcome, 1)
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
                pipe.hgetall(stats_key(rule))
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
                    pipe.hgetall(job_key(job_id))
                    pipe.lrange(notes_key(job_id), 0, -1)
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
