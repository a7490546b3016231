"""Broker reachability and the tiers' last heartbeats, for /healthz."""

from __future__ import annotations

import json
import time
from typing import Any

import redis

from remediator.defaults import (
    HEARTBEAT_INTERVAL_SECONDS,
    PRIORITY_SEP,
    REDIS_PRIORITY_STEPS,
    queue_for,
)
from remediator.jobs.keys import heartbeat_key


def record_heartbeat(client: redis.Redis, beat: dict[str, Any]) -> dict[str, Any] | None:
    """Store a tier's latest heartbeat (kept for ten intervals); returns the one before."""
    with client.pipeline() as pipe:
        pipe.get(heartbeat_key(beat["tier"]))
        pipe.set(heartbeat_key(beat["tier"]), json.dumps(beat), ex=int(HEARTBEAT_INTERVAL_SECONDS * 10))
        previous, _ = pipe.execute()
    return json.loads(previous) if previous else None


def queue_depth(client: redis.Redis, tier: str) -> int:
    """Messages waiting on a tier's queue: the sum over kombu's priority lists."""
    queue = queue_for(tier)
    keys = [queue if step == 0 else f"{queue}{PRIORITY_SEP}{step}" for step in REDIS_PRIORITY_STEPS]
    with client.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.llen(key)
        return sum(int(n) for n in pipe.execute())


def tier_problems(client: redis.Redis, tier: str, max_depth: int) -> tuple[bool, list[str]]:
    """Whether the broker answered, and why the tier is unhealthy (empty when healthy)."""
    try:
        depth = queue_depth(client, tier)
    except redis.RedisError as exc:
        return False, [f"broker unreachable: {exc}"]
    if depth > max_depth:
        return True, [f"queue {queue_for(tier)} holds {depth} jobs (bound {max_depth})"]
    return True, []


def health_report(client: redis.Redis, tiers: tuple[str, ...]) -> tuple[bool, dict[str, Any]]:
    """Whether the broker answers, and each tier's last heartbeat age."""
    try:
        client.ping()
        raw = client.mget([heartbeat_key(t) for t in tiers])
    except redis.RedisError as exc:
        return False, {"status": "unhealthy", "broker": f"unreachable: {exc}"}
    now = time.time()
    report: dict[str, Any] = {}
    for tier, value in zip(tiers, raw, strict=True):
        if value is None:
            report[tier] = {"last_heartbeat": None}
            continue
        beat = json.loads(value)
        age = round(now - beat["at"], 1)
        report[tier] = {
            "last_heartbeat_age_s": age,
            "worker": beat["worker"],
            "stale": age > 3 * HEARTBEAT_INTERVAL_SECONDS,
            "problems": beat.get("problems", []),
        }
    return True, {"status": "ok", "broker": "ok", "tiers": report}
