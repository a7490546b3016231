"""Names, priorities and limits shared by every process, kept in one place."""

from __future__ import annotations

from enum import StrEnum


class PriorityClass(StrEnum):
    """A rule's priority class: A is the most urgent, D the least."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"


REDIS_PRIORITY_STEPS = [0, 3, 6, 9]
"""kombu's priority lists on Redis; a message lands in the step at or below its priority."""

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

RUN_JOB_TASK = "remediator.run_job"
"""Name of the Celery task that runs one remediation job."""

HEARTBEAT_TASK = "remediator.heartbeat"
"""Name of the Celery task each tier's worker runs on beat's schedule."""

HEARTBEAT_INTERVAL_SECONDS = 60.0
"""How often beat sends each tier its heartbeat."""

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


def queue_for(tier: str) -> str:
    """The Celery queue that carries a tier's jobs."""
    return f"{QUEUE_PREFIX}{tier}"
