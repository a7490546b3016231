"""Broker reachability and the tiers' last heartbeats, for /healthz."""

from __future__ import annotations

import json
import time
from typing import Any

import redis

from remediator.defaults import HEARTBEAT_INTERVAL_SECONDS, queue_for
from remediator.jobs.keys import consumers_key, heartbeat_key
from remediator.jobs.queues import class_depths


def record_heartbeat(
    client: redis.Redis, beat: dict[str, Any], interval: float = HEARTBEAT_INTERVAL_SECONDS
) -> dict[str, Any] | None:
    """Store a tier's latest heartbeat (kept for ten of beat's intervals, so it outlives the
    wait for the next one whatever REMEDIATOR_HEARTBEAT_INTERVAL is); returns the one before."""
    with client.pipeline() as pipe:
        pipe.get(heartbeat_key(beat["tier"]))
        pipe.set(heartbeat_key(beat["tier"]), json.dumps(beat), ex=max(1, int(interval * 10)))
        previous, _ = pipe.execute()
    return json.loads(previous) if previous else None


def queue_depth(client: redis.Redis, tier: str) -> int:
    """Messages waiting on a tier's queue: the sum over kombu's priority lists."""
    return sum(class_depths(client, [tier])[tier].values())


def tier_problems(client: redis.Redis, tier: str, max_depth: int) -> tuple[int | None, list[str]]:
    """The tier's queue depth (None: the broker did not answer), and why the tier is
    unhealthy (empty when healthy)."""
    try:
        depth = queue_depth(client, tier)
    except redis.RedisError as exc:
        return None, [f"broker unreachable: {exc}"]
    if depth > max_depth:
        return depth, [f"queue {queue_for(tier)} holds {depth} jobs (bound {max_depth})"]
    return depth, []


CONSUMER_FRESH_INTERVALS = 3
"""A worker that gave no sign of life (start, heartbeat) for this many of beat's intervals
no longer counts as consuming its tier's queue (a worker killed outright drops out after it)."""

STALE_INTERVALS = 3
"""A heartbeat older than this many intervals is stale (/healthz)."""


def consuming(client: redis.Redis, tier: str, hostname: str) -> None:
    """Note that a worker consumes a tier's queue (at start, and at each heartbeat)."""
    client.zadd(consumers_key(tier), {hostname: time.time()})


def stopped_consuming(client: redis.Redis, tier: str, hostname: str) -> None:
    """Note that a worker stopped (a clean shutdown)."""
    client.zrem(consumers_key(tier), hostname)


def health_report(
    client: redis.Redis, tiers: tuple[str, ...], interval: float = HEARTBEAT_INTERVAL_SECONDS
) -> tuple[bool, dict[str, Any]]:
    """Liveness (the broker answers) and, per tier, readiness (a worker consuming its queue)
    and the last heartbeat, judged against beat's interval. Returns (alive, report);
    report["ready"] is all tiers ready."""
    now = time.time()
    try:
        client.ping()
        raw = client.mget([heartbeat_key(t) for t in tiers])
        with client.pipeline(transaction=False) as pipe:
            for tier in tiers:
                pipe.zrangebyscore(consumers_key(tier), now - CONSUMER_FRESH_INTERVALS * interval, "+inf")
            consumers = pipe.execute()
    except redis.RedisError as exc:
        return False, {"status": "unhealthy", "broker": f"unreachable: {exc}", "ready": False}
    report: dict[str, Any] = {}
    for tier, value, workers in zip(tiers, raw, consumers, strict=True):
        entry: dict[str, Any] = {"ready": bool(workers), "consumers": sorted(workers)}
        if value is None:
            entry["last_heartbeat"] = None
        else:
            beat = json.loads(value)
            age = round(now - beat["at"], 1)
            entry |= {
                "last_heartbeat_age_s": age,
                "worker": beat["worker"],
                "stale": age > STALE_INTERVALS * interval,
                "problems": beat.get("problems", []),
            }
        report[tier] = entry
    ready = all(entry["ready"] for entry in report.values())
    return True, {"status": "ok", "broker": "ok", "ready": ready, "tiers": report}
