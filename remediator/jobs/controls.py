"""Operator switches kept in Redis: the global pause and each rule's circuit breaker."""

from __future__ import annotations

from typing import Any, cast

import redis

from remediator.jobs.keys import PAUSED_KEY, breaker_key

BAD_OUTCOMES = frozenset({"failed", "ineffective"})
"""Outcomes that count towards opening a rule's circuit breaker."""


def pause(client: redis.Redis, reason: str) -> None:
    """Hold every match from now on."""
    client.set(PAUSED_KEY, reason or "paused by an operator")


def resume(client: redis.Redis) -> None:
    """Let matches through again (held jobs stay held until released or discarded)."""
    client.delete(PAUSED_KEY)


def paused(client: redis.Redis) -> str | None:
    """Why remediation is paused, or None."""
    return cast(str | None, client.get(PAUSED_KEY))


def note_outcome(
    client: redis.Redis, rule: str, outcome: str, job_id: str, threshold: int, resets: bool
) -> str | None:
    """Feed an outcome to the rule's breaker; returns the reason if this opened it."""
    key = breaker_key(rule)
    if resets:
        client.hset(key, "consecutive", 0)
        return None
    if outcome not in BAD_OUTCOMES or threshold <= 0:
        return None
    count = int(client.hincrby(key, "consecutive", 1))
    if count < threshold:
        return None
    reason = f"{count} consecutive failed or ineffective jobs (last: {job_id})"
    opened = client.hsetnx(key, "disabled_reason", reason)
    return reason if opened else None


def enable_rule(client: redis.Redis, rule: str) -> bool:
    """Close a rule's breaker; returns whether it was open."""
    key = breaker_key(rule)
    with client.pipeline() as pipe:
        pipe.hdel(key, "disabled_reason")
        pipe.hset(key, "consecutive", 0)
        removed, _ = pipe.execute()
    return bool(removed)


def breakers(client: redis.Redis, rules: list[str]) -> dict[str, dict[str, Any]]:
    """Each rule's breaker: consecutive bad outcomes and disabled_reason (None when closed)."""
    with client.pipeline(transaction=False) as pipe:
        for rule in rules:
            pipe.hgetall(breaker_key(rule))
        rows = pipe.execute()
    return {
        rule: {"consecutive": int(row.get("consecutive", 0)), "disabled_reason": row.get("disabled_reason")}
        for rule, row in zip(rules, rows, strict=True)
    }
