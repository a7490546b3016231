"""Operator switches kept in Redis: the global pause and each rule's circuit breaker."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, cast

import redis

from remediator.jobs.keys import PAUSED_KEY, SWITCH_LOG_KEY, breaker_key

_BREAKER = (Path(__file__).parent / "breaker.lua").read_text()


SWITCH_LOG_LENGTH = 50
"""Pauses and resumes remembered (newest first)."""


def pause(client: redis.Redis, by: str, reason: str = "") -> None:
    """Hold every match from now on; who paused, and why, is kept."""
    with client.pipeline() as pipe:
        pipe.set(PAUSED_KEY, f"paused by {by}" + (f": {reason}" if reason else ""))
        _log_switch(pipe, "paused", by, reason)
        pipe.execute()


def resume(client: redis.Redis, by: str) -> None:
    """Let matches through again (held jobs stay held until released or discarded)."""
    with client.pipeline() as pipe:
        pipe.delete(PAUSED_KEY)
        _log_switch(pipe, "resumed", by, "")
        pipe.execute()


def _log_switch(pipe: Any, action: str, by: str, reason: str) -> None:
    entry = {"action": action, "by": by, "reason": reason, "at": time.time()}
    pipe.lpush(SWITCH_LOG_KEY, json.dumps(entry))
    pipe.ltrim(SWITCH_LOG_KEY, 0, SWITCH_LOG_LENGTH - 1)


def switch_log(client: redis.Redis, count: int = 10) -> list[dict[str, Any]]:
    """The latest pauses and resumes, newest first: action, by, reason, at."""
    return [json.loads(e) for e in cast(list[str], client.lrange(SWITCH_LOG_KEY, 0, count - 1))]


def paused(client: redis.Redis) -> str | None:
    """Why remediation is paused, or None."""
    return cast(str | None, client.get(PAUSED_KEY))


def note_bad_outcome(
    client: redis.Redis, rule: str, job_id: str, threshold: int, good_so_far: int
) -> str | None:
    """Count a failed or ineffective job against its rule (after resetting the count if the
    rule had good outcomes since); returns the reason if this opened the breaker."""
    if threshold <= 0:
        return None
    opened = client.eval(_BREAKER, 1, breaker_key(rule), good_so_far, threshold, job_id)
    return str(opened) if opened else None


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
