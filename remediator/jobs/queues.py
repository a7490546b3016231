"""What waits on the tiers' Celery queues, read straight from kombu's Redis lists.

kombu keeps one list per priority step (`<queue>`, `<queue>\\x06\\x163`, ...), so a queue's
true depth is the sum over its lists; each class maps to one step. The top list also carries
remediator's own short tasks (event deliveries, heartbeats, verifications), so class A's count
includes them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import redis

from remediator.defaults import CLASS_TO_REDIS_PRIORITY, PRIORITY_SEP, PriorityClass, queue_for


def priority_list(tier: str, step: int) -> str:
    """The Redis list kombu keeps for a tier's queue at one priority step."""
    queue = queue_for(tier)
    return queue if step == 0 else f"{queue}{PRIORITY_SEP}{step}"


def class_depths(client: redis.Redis, tiers: Iterable[str]) -> dict[str, dict[PriorityClass, int]]:
    """Messages waiting per tier and priority class, in one round trip."""
    tiers = tuple(tiers)
    with client.pipeline(transaction=False) as pipe:
        for tier in tiers:
            for step in CLASS_TO_REDIS_PRIORITY.values():
                pipe.llen(priority_list(tier, step))
        counts = iter(pipe.execute())
    return {tier: {klass: int(next(counts)) for klass in CLASS_TO_REDIS_PRIORITY} for tier in tiers}


UNACKED_KEY = "unacked"
"""kombu's hash of the messages workers hold (taken, not yet acknowledged)."""


def task_id_of(raw: str | bytes) -> str | None:
    """The task id in one kombu message as Redis keeps it (a list entry, or an unacked
    entry `[message, exchange, routing_key]`)."""
    try:
        document = json.loads(raw)
    except ValueError:
        return None
    if isinstance(document, list) and document:
        document = document[0]
    headers = document.get("headers") if isinstance(document, dict) else None
    task_id = headers.get("id") if isinstance(headers, dict) else None
    return str(task_id) if task_id else None


def message_task_ids(client: redis.Redis, tiers: Iterable[str]) -> set[str]:
    """The task ids of every message on the broker for these tiers: waiting in any priority
    list, or held by a worker."""
    with client.pipeline(transaction=False) as pipe:
        for tier in tiers:
            for step in CLASS_TO_REDIS_PRIORITY.values():
                pipe.lrange(priority_list(tier, step), 0, -1)
        pipe.hvals(UNACKED_KEY)
        batches = pipe.execute()
    return {task_id for batch in batches for raw in batch if (task_id := task_id_of(raw))}
