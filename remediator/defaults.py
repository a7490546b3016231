"""Names, priorities and limits shared by every process, kept in one place."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class PriorityClass(StrEnum):
    """A rule's priority class: A is the most urgent, D the least."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"


REDIS_PRIORITY_STEPS = [0, 3, 6, 9]
"""kombu's priority lists on Redis; a message lands in the step at or below its priority."""

PRIORITY_SEP = "\x06\x16"
"""kombu's separator between a queue's name and its priority step in the list key."""

CLASS_TO_REDIS_PRIORITY: dict[PriorityClass, int] = {
    PriorityClass.A: 0,
    PriorityClass.B: 3,
    PriorityClass.C: 6,
    PriorityClass.D: 9,
}
"""On Redis 0 is served first (the reverse of RabbitMQ), so class A maps to 0."""

DEFAULT_REDIS_PRIORITY = CLASS_TO_REDIS_PRIORITY[PriorityClass.D]
"""A message sent without a priority would get 0, the top list: default to the lowest class."""

QUEUE_PREFIX = "remediator."
"""Each tier has one Celery queue, named QUEUE_PREFIX + tier."""

DEFAULT_TIERS = ("prod", "nonprod")
"""Tiers a rule may name unless REMEDIATOR_TIERS says otherwise."""

DEFAULT_APPROVAL_TIERS = ("prod",)
"""Tiers whose class-A jobs wait for a person unless the rule says `approval:`."""

RULES_VERSION = 1
"""The rule-file format this version reads (`version:` at the top of the file)."""

RUN_JOB_TASK = "remediator.run_job"
"""Name of the Celery task that runs one remediation job."""

HEARTBEAT_TASK = "remediator.heartbeat"
"""Name of the Celery task each tier's worker runs on beat's schedule."""

HEARTBEAT_INTERVAL_SECONDS = 60.0
"""How often beat sends each tier its heartbeat."""

SWEEP_TASK = "remediator.sweep"
"""Name of the Celery task that expires approvals nobody gave."""

SETTLE_MAX_SECONDS = 900.0
"""The longest a rule's `settle: auto` waits (its `settle_max` unless it says)."""

SETTLE_LEARN_DAYS = 30
"""How far back `settle: auto` learns from a rule's issues."""

SETTLE_TASK = "remediator.settle"
"""Name of the Celery task that ends a job's settling: cancel it, or queue it."""

LEARN_SETTLE_TASK = "remediator.learn_settle"
"""Name of the Celery task that learns each `settle: auto` rule's wait (beat, every 10 min)."""

LEARN_SETTLE_INTERVAL_SECONDS = 600.0

PROBE_TASK = "remediator.probe_targets"
"""Name of the Celery task that probes the rules' health URLs (every minute, by beat)."""

PROBE_INTERVAL_SECONDS = 60.0
"""How often beat sends it."""

VERIFY_TASK = "remediator.verify"
"""Name of the Celery task that checks in Sentry whether a job's fix held."""

DELIVER_TASK = "remediator.deliver"
"""Name of the Celery task that hands one event to the remote listeners that want it."""

PLAN_TASK = "remediator.plan"
"""Name of the Celery task that plans a webhook whose lookups the web could not finish
within Sentry's one-second budget (the web accepted it and handed it on)."""

PLAN_MAX_ATTEMPTS = 5
"""A deferred webhook's lookups are tried this often (backoff 5 s doubling) before it is
planned without the answers (the tests that need them then fail, and the log says so)."""

DELIVER_MAX_ATTEMPTS = 9
"""A remote listener's attempts at one event (backoff 5 s doubling, at most 5 min: about
half an hour in all); it never touches the job's outcome."""

VERIFY_AFTER_SECONDS = 600.0
"""Default quiet window after a job succeeds before it counts as verified."""

MIN_VERIFY_AFTER_SECONDS = 60.0
"""Shortest verify_after (unless REMEDIATOR_MIN_VERIFY_AFTER lowers it): Sentry needs
seconds to a minute to ingest and group new events, so a shorter window proves nothing."""

MAX_VERIFY_AFTER_SECONDS = 3000.0
"""Longest verify_after: under the broker's visibility timeout, so the check runs once."""

FOLLOWUP_PRIORITY = 0
"""Write-backs, verifications and heartbeats go first on their tier's queue."""

JOB_TRANSACTION_OP = "batch.job"
"""Op of every job's Sentry transaction (named `Batch Job: <script>`)."""

MONITOR_SLUG = "batch-worker-{tier}"
"""Sentry cron monitor of each tier's worker."""

MONITOR_CONFIG: dict[str, Any] = {
    "schedule": {"type": "interval", "value": 1, "unit": "minute"},
    "checkin_margin": 2,
    "max_runtime": 5,
    "failure_issue_threshold": 3,
    "recovery_threshold": 1,
}
"""Cron monitor of each tier's worker (the seed's config); the timezone comes from settings."""

DEFAULT_STORM_KEY = "{{ issue_id or alert_id or event_id or title }}"
"""What once_within and concurrency count per, unless a rule names its own key."""

DEDUP_WINDOW_SECONDS = 600.0
"""A repeated delivery of the same content within this window is a duplicate."""

REPLAY_WINDOW_SECONDS = 300.0
"""Sentry-Hook-Timestamp further than this from now (past or future) is refused."""

BREAKER_AFTER = 3
"""Consecutive failed or ineffective jobs after which a rule disables itself."""

APPROVAL_TTL_SECONDS = 3600.0
"""How long a job waits for approval before it expires."""

KEY_PREFIX = "remediator:"
"""Prefix of every Redis key the job store writes (never a Celery/kombu key)."""

MAX_BODY_BYTES = 1024 * 1024
"""Largest webhook body accepted; larger ones get 413."""

SENTRY_RESOURCES_THAT_TRIGGER = ("issue", "event_alert", "metric_alert", "error")
"""Webhook resources that rules are matched against."""

SENTRY_RESOURCES_IGNORED = ("comment", "installation")
"""Webhook resources that are accepted and deliberately ignored."""

FIRING_ACTIONS: dict[str, tuple[str, ...]] = {
    "issue": ("created", "unresolved"),
    "error": ("created",),
    "event_alert": ("triggered",),
    "metric_alert": ("critical", "warning"),
}
"""Actions a rule matches when it names no `action`: the ones that mean 'a problem exists'."""


CANCELLING_ACTIONS = frozenset({"resolved", "ignored", "archived"})
"""`issue` actions after which a job still queued for that issue is cancelled."""


def queue_for(tier: str) -> str:
    """The Celery queue that carries a tier's jobs."""
    return f"{QUEUE_PREFIX}{tier}"


NOTIFY_TASK = "remediator.notify"
"""Sends one message to one channel (retried on its own)."""

NOTIFY_DIGEST_TASK = "remediator.notify_digest"
"""Sends what a route held back while its digest window was open."""

NOTIFY_MAX_ATTEMPTS = 8
"""Attempts per message and channel before it is recorded as failed."""


# -- How the web process is served (`remediator web`, and the bench, so what is measured is
# what runs). gevent's worker class reads a request in a greenlet of its own: a connection
# that sends half a request and waits holds a socket and a little memory, not one of a
# handful of threads (with gthread's 2 x 4 threads, a dozen such connections stopped the
# web). docs/capacity.md has the numbers and the reverse proxy for production.

WEB_WORKER_CONNECTIONS = 1000
"""Connections one gunicorn worker serves at once (open slow ones included)."""

WEB_GUNICORN_OPTIONS = (
    "--worker-class",
    "gevent",
    "--worker-connections",
    str(WEB_WORKER_CONNECTIONS),
    "--timeout",
    "30",
    "--graceful-timeout",
    "20",
)
"""Every gunicorn option of the web but its address, worker count and logging."""
