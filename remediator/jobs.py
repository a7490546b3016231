"""Job records: what was asked, where it ran and how it ended, kept in Redis."""

from __future__ import annotations

import json
import time
import uuid
from enum import StrEnum
from typing import Any, cast

import redis
from pydantic import BaseModel, Field

from remediator.defaults import KEY_PREFIX, PriorityClass


class JobStatus(StrEnum):
    """Where a job is in its life."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


FINISHED = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED})
"""Statuses a job does not leave."""


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
    worker: str | None = None
    attempts: int = 0
    created_at: float = Field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    output: dict[str, Any] | None = None
    error: str | None = None

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


def _job_key(job_id: str) -> str:
    return f"{KEY_PREFIX}job:{job_id}"


INDEX_KEY = f"{KEY_PREFIX}jobs"
"""Sorted set of job ids by creation time, newest last."""

LIST_SCAN_LIMIT = 5000
"""How many of the newest jobs a filtered listing looks through."""


def redis_client(url: str) -> redis.Redis:
    """A client for the job store with short timeouts, so a dead Redis fails fast."""
    return redis.Redis.from_url(
        url,
        decode_responses=True,
        socket_connect_timeout=2,
        socket_timeout=5,
        health_check_interval=30,
    )


class JobStore:
    """Job records as Redis hashes (one field per attribute, so updates never race)."""

    def __init__(self, client: redis.Redis, retention_days: int = 30) -> None:
        self.client = client
        self.ttl = retention_days * 86400

    def create(self, job: Job) -> Job:
        """Store a new job record."""
        fields: dict[Any, Any] = {k: json.dumps(v) for k, v in job.model_dump(mode="json").items()}
        with self.client.pipeline() as pipe:
            pipe.hset(_job_key(job.id), mapping=fields)
            pipe.expire(_job_key(job.id), self.ttl)
            pipe.zadd(INDEX_KEY, {job.id: job.created_at})
            pipe.zremrangebyscore(INDEX_KEY, "-inf", time.time() - self.ttl)
            pipe.execute()
        return job

    def get(self, job_id: str) -> Job | None:
        """The job record, or None if there is none (or it has expired)."""
        raw = self.client.hgetall(_job_key(job_id))
        if not raw:
            return None
        return Job.model_validate({k: json.loads(v) for k, v in raw.items()})

    def update(self, job_id: str, **fields: Any) -> None:
        """Set some fields of an existing record."""
        encoded: dict[Any, Any] = {
            k: json.dumps(v.value if isinstance(v, StrEnum) else v) for k, v in fields.items()
        }
        self.client.hset(_job_key(job_id), mapping=encoded)

    def start_attempt(self, job_id: str, worker: str) -> int:
        """Mark a job running on worker and count the attempt; returns the attempt number."""
        key = _job_key(job_id)
        with self.client.pipeline() as pipe:
            pipe.hincrby(key, "attempts", 1)
            pipe.hset(
                key,
                mapping={
                    "status": json.dumps(JobStatus.RUNNING.value),
                    "worker": json.dumps(worker),
                    "started_at": json.dumps(time.time()),
                },
            )
            attempts, _ = pipe.execute()
        return int(attempts)

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
                rows = pipe.execute()
            for raw in rows:
                if not raw:
                    continue
                job = Job.model_validate({k: json.loads(v) for k, v in raw.items()})
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
