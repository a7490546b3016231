"""Canary rules: what a rule in canary may do, and how each outcome moves its rollout. Pure.

A rule with `rollout: {stage: canary, promote_after: 5, promote: auto | approval}` runs for
non-production environments and only dry-runs in production until it is promoted. Every
verified job counts towards `promote_after`; one failed or ineffective job resets the count.
Reaching it promotes the rule (`auto`) or makes it ready for an operator's promote
(`approval`). A promoted rule whose breaker opens goes back to canary. The rollout is kept by
the rule's name and the hash of its match and job, so a reload keeps it and an edit of what
the rule does starts it over."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from typing import Any

CANARY, READY, PROMOTED = "canary", "ready", "promoted"
"""The stages: counting, waiting for an operator's promote, promoted."""

PRODUCTION = frozenset({"production", "prod", "live"})
"""Environment names taken for production; an issue whose environment is unknown counts as
production too (the safe side: it dry-runs)."""


def rule_hash(match: Any, job: Any) -> str:
    """What identifies what a rule does: its match and its job (12 hex digits)."""
    text = json.dumps({"match": match, "job": job}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def is_production(environment: str) -> bool:
    """Whether a canary's job for this environment only dry-runs."""
    return not environment or environment.lower() in PRODUCTION


@dataclass(frozen=True)
class Rollout:
    """A rule's rollout as kept."""

    stage: str = CANARY
    count: int = 0
    """Verified jobs since the last reset (towards promote_after)."""

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> Rollout:
        return cls(fields.get("stage") or CANARY, int(fields.get("count") or 0))


def canary_dry_run(rollout: Rollout, environment: str, promote_after: int) -> str | None:
    """Why a job of a rule in canary only dry-runs here (None: it may run)."""
    if rollout.stage == PROMOTED or not is_production(environment):
        return None
    where = f"environment {environment!r}" if environment else "an unknown environment"
    waiting = " and waits for an operator's promote" if rollout.stage == READY else ""
    return (
        f"canary: in production ({where}) it only dry-runs until promoted "
        f"({rollout.count} of {promote_after} verified{waiting})"
    )


def after_outcome(
    rollout: Rollout, outcome: str, promote_after: int, promote: str
) -> tuple[Rollout, str | None]:
    """The rollout after a job's outcome (`verified`, `failed`, `ineffective`) or the rule's
    breaker opening (`breaker_opened`), and what happened in words (None: nothing worth a
    line)."""
    if outcome == "breaker_opened":
        if rollout.stage == PROMOTED:
            return Rollout(CANARY, 0), "demoted to canary: its breaker opened"
        return replace(rollout, count=0), None
    if rollout.stage == PROMOTED:
        return rollout, None
    if outcome in ("failed", "ineffective"):
        if rollout.count == 0 and rollout.stage == CANARY:
            return rollout, None
        return Rollout(CANARY, 0), f"count reset: a job was {outcome} ({rollout.count} verified before)"
    if outcome != "verified":
        return rollout, None
    count = rollout.count + 1
    if count < promote_after:
        return Rollout(rollout.stage, count), f"{count} of {promote_after} verified"
    if promote == "auto":
        return Rollout(PROMOTED, count), f"promoted: {count} of {promote_after} verified"
    return Rollout(
        READY, count
    ), f"ready for promotion: {count} of {promote_after} verified; an operator promotes it"
