"""Canary rules' rollouts in Redis: each rule's stage and count, kept by its name and the
hash of its match and job (a reload keeps it; an edit starts over), with a log of what
moved it."""

from __future__ import annotations

import json
import time
from typing import Any, cast

import redis

from remediator.jobs.keys import rollout_key, rollout_log_key
from remediator.rules.rollout import Rollout

LOG_KEPT = 50
"""Most entries a rollout's log keeps."""


def current(client: redis.Redis, rule: str, rule_hash: str) -> Rollout:
    """The rule's rollout (a canary at 0 before anything happened)."""
    return Rollout.from_fields(cast(dict[str, str], client.hgetall(rollout_key(rule, rule_hash))))


def save(
    client: redis.Redis, rule: str, rule_hash: str, rollout: Rollout, what: str | None, **detail: Any
) -> None:
    """Keep the rollout and, when something happened, a line in its log, in one step."""
    with client.pipeline() as pipe:
        pipe.hset(rollout_key(rule, rule_hash), mapping={"stage": rollout.stage, "count": rollout.count})
        if what:
            entry = json.dumps({"at": time.time(), "what": what, **{k: v for k, v in detail.items() if v}})
            pipe.lpush(rollout_log_key(rule, rule_hash), entry)
            pipe.ltrim(rollout_log_key(rule, rule_hash), 0, LOG_KEPT - 1)
        pipe.execute()


def log(client: redis.Redis, rule: str, rule_hash: str, limit: int = 10) -> list[dict[str, Any]]:
    """The rollout's latest log entries, newest first."""
    raw = cast(list[str], client.lrange(rollout_log_key(rule, rule_hash), 0, limit - 1))
    return [json.loads(entry) for entry in raw]
