"""What happened to a job (or a rule, or a tier), as one immutable event."""

from __future__ import annotations

import time
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from remediator.jobs.model import Job


class EventKind(StrEnum):
    """Every event in a job's life, plus rule-level and tier-level ones."""

    SUBMITTED = "submitted"
    """A job was recorded and queued."""
    DUPLICATE = "duplicate"
    COALESCED = "coalesced"
    THROTTLED = "throttled"
    SUPPRESSED = "suppressed"
    HELD = "held"
    DRY_RUN = "dry_run"
    AWAITING_APPROVAL = "awaiting_approval"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    STARTED = "started"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    NEEDS_ATTENTION = "needs_attention"
    SKIPPED = "skipped"
    """The script decided there was nothing worth doing (see the job's reason)."""
    VERIFIED = "verified"
    INEFFECTIVE = "ineffective"
    CANCELLED = "cancelled"
    DISCARDED = "discarded"
    RELEASED = "released"
    BREAKER_OPENED = "breaker_opened"
    """A rule disabled itself after consecutive failed or ineffective jobs."""
    BREAKER_CLOSED = "breaker_closed"
    """A person re-enabled a rule."""
    HEARTBEAT_ERROR = "heartbeat_error"
    """A tier's heartbeat turned unhealthy."""
    HEARTBEAT_OK = "heartbeat_ok"
    """A tier's heartbeat is healthy (again)."""
    SEER_PROGRESS = "seer_progress"
    """A Seer Autofix run of the job reached a stage (detail: action); no status change."""
    RULE_PROMOTED = "rule_promoted"
    """A canary rule was promoted (automatically, or by an operator: detail: reason)."""
    RULE_DEMOTED = "rule_demoted"
    """A promoted rule went back to canary (its breaker opened)."""
    ISSUE_RESOLVED = "issue_resolved"
    """Sentry says an issue remediator acted on is resolved (one event per rule that acted;
    detail: issue_id)."""


JOB_EVENTS = frozenset(EventKind) - {
    EventKind.BREAKER_OPENED,
    EventKind.BREAKER_CLOSED,
    EventKind.HEARTBEAT_ERROR,
    EventKind.HEARTBEAT_OK,
    EventKind.ISSUE_RESOLVED,
    EventKind.RULE_PROMOTED,
    EventKind.RULE_DEMOTED,
}
"""Events that always carry a job."""


class Event(BaseModel):
    """One thing that happened, with the job as it was right after it (when there is one)."""

    model_config = ConfigDict(frozen=True)

    kind: EventKind
    at: float = Field(default_factory=time.time)
    job: Job | None = None
    rule: str | None = None
    tier: str | None = None
    actor: str | None = None
    """Who caused it: an operator's name, a worker's, or None for remediator itself."""
    detail: dict[str, Any] = Field(default_factory=dict)
    """Facts a listener may need (a verification's first_seen, a breaker's reason...)."""

    @classmethod
    def for_job(cls, kind: EventKind, job: Job, actor: str | None = None, **detail: Any) -> Event:
        """An event about a job (rule and tier taken from it). Built without validation: its
        parts are already typed, and the webhook's path pays for every microsecond."""
        return cls.model_construct(
            kind=kind, at=time.time(), job=job, rule=job.rule, tier=job.tier, actor=actor, detail=detail
        )

    @property
    def job_id(self) -> str | None:
        """The job's id, when the event is about a job."""
        return self.job.id if self.job is not None else None
