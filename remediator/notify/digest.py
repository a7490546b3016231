"""Storm control for people: the first event of a (route, rule) goes out at once and opens a
window; what follows within it is held and sent as one digest when the window closes."""

from __future__ import annotations

import json
from typing import Any, cast

import redis

from remediator.jobs.keys import notify_held_key, notify_window_key, pagerduty_open_key

HELD_KEPT = 1000
"""Most events one digest lists (the oldest beyond it are dropped)."""


def open_window(client: redis.Redis, route: int, scope: str, window: float) -> bool:
    """Open the window if none is open; True: this event goes out now (and a flush is due
    when the window closes), False: it is held for the digest."""
    if window <= 0:
        return True
    return bool(client.set(notify_window_key(route, scope), "1", nx=True, px=max(1, int(window * 1000))))


def hold(client: redis.Redis, route: int, scope: str, entry: dict[str, Any], window: float) -> None:
    """Keep an event for the window's digest."""
    key = notify_held_key(route, scope)
    with client.pipeline() as pipe:
        pipe.rpush(key, json.dumps(entry))
        pipe.ltrim(key, -HELD_KEPT, -1)
        pipe.expire(key, max(60, int(window * 10)))
        pipe.execute()


def take_held(client: redis.Redis, route: int, scope: str) -> list[dict[str, Any]]:
    """What was held during the window, emptied in the same step."""
    key = notify_held_key(route, scope)
    with client.pipeline() as pipe:
        pipe.lrange(key, 0, -1)
        pipe.delete(key)
        held, _ = pipe.execute()
    return [json.loads(e) for e in cast(list[str], held)]


def pagerduty_opened(client: redis.Redis, channel: str, dedup_key: str) -> None:
    """Remember an incident a channel triggered, to resolve it later."""
    client.sadd(pagerduty_open_key(channel), dedup_key)


def pagerduty_take_open(client: redis.Redis, channel: str, dedup_key: str) -> bool:
    """Whether the channel has this incident open (and forget it: it is being resolved)."""
    return bool(client.srem(pagerduty_open_key(channel), dedup_key))
