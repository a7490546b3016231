"""Reading the hourly trend buckets, and the counters written outside a job's transaction:
webhooks by outcome (on the webhook's path) and the tiers' queue peaks (by heartbeats)."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, cast

import redis

from remediator.jobs.keys import TREND_RETENTION, hour_of, trend_key
from remediator.jobs.store import queue_counts
from remediator.trends.buckets import Buckets, Trends, range_hours, trends

log = logging.getLogger(__name__)

_PEAK = """
-- Keep the larger of each field's value and the one given. KEYS: 1 the bucket.
-- ARGV: 1 when the bucket expires, then field/value pairs.
for i = 2, #ARGV, 2 do
  local now = tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '-1')
  if tonumber(ARGV[i + 1]) > now then redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
end
redis.call('EXPIREAT', KEYS[1], ARGV[1])
"""


def read(client: redis.Redis, hours: list[int]) -> Buckets:
    """The buckets of these hours (empty where nothing was counted), in one round trip."""
    with client.pipeline(transaction=False) as pipe:
        for hour in hours:
            pipe.hgetall(trend_key(hour))
        rows = cast(list[dict[str, str]], pipe.execute())
    return dict(zip(hours, rows, strict=True))


def last(client: redis.Redis, hours: int, tiers: tuple[str, ...], now: float | None = None) -> Trends:
    """The trends of the last `hours` hours, the current one included."""
    span = range_hours(time.time() if now is None else now, hours)
    return trends(read(client, span), span, tiers)


class WebhookCounts:
    """Webhooks by outcome, counted in the process and added to the hour's bucket
    FLUSH_SECONDS after the first one not yet added (a timer thread), so a webhook costs no
    round trip for its chart. A Redis error, or the process ending, loses the counts of
    those seconds, never a webhook."""

    FLUSH_SECONDS = 2.0

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self._lock = threading.Lock()
        self._pending: dict[tuple[int, str], int] = {}
        self._timer: threading.Timer | None = None

    def add(self, outcome: str, at: float | None = None) -> None:
        """Count one webhook (accepted, ignored, refused); the first since the last flush
        arms the timer that adds them."""
        hour = hour_of(time.time() if at is None else at)
        with self._lock:
            self._pending[hour, outcome] = self._pending.get((hour, outcome), 0) + 1
            if self._timer is None:
                self._timer = threading.Timer(self.FLUSH_SECONDS, self.flush)
                self._timer.daemon = True
                self._timer.start()

    def flush(self) -> None:
        """Add what was counted to the buckets now."""
        with self._lock:
            pending, self._pending = self._pending, {}
            self._timer = None
        if not pending:
            return
        try:
            with self.client.pipeline(transaction=False) as pipe:
                for (hour, outcome), n in pending.items():
                    queue_counts(pipe, {f"webhooks:{outcome}": n}, hour)
                pipe.execute()
        except redis.RedisError as exc:
            log.warning("%d webhooks not counted in the trends: %s", sum(pending.values()), exc)


def note_tier(
    client: redis.Redis, tier: str, depth: int, oldest: float | None, at: float | None = None
) -> None:
    """Keep the hour's peak queue depth and oldest waiting age of a tier (one heartbeat's
    reading)."""
    hour = hour_of(time.time() if at is None else at)
    args: list[Any] = [hour + TREND_RETENTION, f"tier:{tier}:depth", depth]
    if oldest is not None:
        args += [f"tier:{tier}:oldest", int(oldest)]
    client.eval(_PEAK, 1, trend_key(hour), *args)
