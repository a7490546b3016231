"""The job record and its statuses."""

from __future__ import annotations

import time
import uuid
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from remediator.defaults import PriorityClass


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
    SKIPPED = "skipped"
    """Started, and its script found nothing worth doing: an analysis below the rule's gate or
    past the day's token budget (see reason). Nothing was sent to a model."""


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
    class_reason: str | None = None
    """Why the job has its class, when its rule computed it from the issue's damage."""
    release_note: str | None = None
    """For a rule that matched on the deploy: the release that began it, when and by whom
    it was deployed."""
    namespace: str
    params: dict[str, Any] = Field(default_factory=dict)
    sentry_issue_id: str | None = None
    sentry_event_id: str | None = None
    sentry_tags: dict[str, str] = Field(default_factory=dict)
    """The event's tags that say where it came from (repository, pull_request, commit,
    branch): notifications find a pull request with them."""
    sentry_title: str | None = None
    """The issue's (or event's, or alert's) title when the job was submitted: data, shown
    escaped, never rendered as markup or template."""
    sentry_resource: str | None = None
    sentry_action: str | None = None
    queue: str
    time_limit: int | None = None
    """Hard limit in seconds; the worker kills the job after it."""
    verify_after: float | None = None
    """Seconds after success at which Sentry is asked whether the issue went quiet."""
    resolve_issue: bool = True
    """Whether verification resolves the Sentry issue (else it only comments)."""
    verification: str = "sentry"
    """How the fix is verified after success: `sentry` (the issue stays quiet) or `none`."""
    sentry_project: str | None = None
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
    """Who approved it (two names, comma-separated, for a two-person approval)."""
    approvers_needed: int = 1
    """How many different people must approve it before it runs."""
    approvals: list[str] = Field(default_factory=list)
    """Who has approved it so far (while it waits for the next approver)."""
    settle_until: float | None = None
    """While it settles: when it runs unless Sentry resolves the issue first."""
    settle_note: str | None = None
    """How long it settled and why (`settle: 5m`, or what `auto` learned)."""
    timeline: list[dict[str, Any]] = Field(default_factory=list)
    """Every lifecycle event of the job, oldest first: event, at, actor (and attempt)."""
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
