"""What the dashboard's tiers page shows: per tier, its queue's true depth, the oldest job
waiting, the last heartbeat (and so the cron check-in sent with it), the workers consuming
it and the tier cap's use; and, asked of the workers themselves, what each one runs."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import redis
from celery import Celery

from remediator.defaults import HEARTBEAT_INTERVAL_SECONDS, MONITOR_SLUG, PriorityClass, queue_for
from remediator.jobs.keys import (
    consumers_key,
    heartbeat_key,
    scratch_key,
    status_index,
    tier_index,
    tier_runs_key,
)
from remediator.jobs.model import JobStatus
from remediator.jobs.queues import class_depths
from remediator.worker.health import CONSUMER_FRESH_INTERVALS


@dataclass
class TierView:
    """One tier, as read now."""

    tier: str
    queue: str
    monitor: str
    depth_by_class: dict[PriorityClass, int]
    oldest_waiting: tuple[str, float] | None
    """The oldest queued job of the tier: (job id, seconds waiting)."""
    heartbeat: dict[str, Any] | None
    """The last heartbeat a worker of the tier answered (at, worker, problems)."""
    consumers: list[tuple[str, float]] = field(default_factory=list)
    """Workers that gave a sign of life lately: (hostname, seconds since)."""
    cap: tuple[int, float] | None = None
    """The tier cap: at most this many runs per window (seconds)."""
    cap_used: int = 0
    interval: float = HEARTBEAT_INTERVAL_SECONDS
    """Seconds between beat's heartbeats (REMEDIATOR_HEARTBEAT_INTERVAL)."""

    @property
    def depth(self) -> int:
        """Messages waiting, all priority lists summed."""
        return sum(self.depth_by_class.values())

    @property
    def heartbeat_age(self) -> float | None:
        """Seconds since the last heartbeat (None: none kept)."""
        return None if self.heartbeat is None else time.time() - float(self.heartbeat["at"])

    @property
    def heartbeat_late(self) -> bool:
        """No heartbeat for over two intervals: the tier's worker is not answering."""
        age = self.heartbeat_age
        return age is None or age > 2 * self.interval

    @property
    def checkin_status(self) -> str:
        """The status the last heartbeat checked in with (`ok`, `error`); `missing` when the
        last one is over two intervals old; `none yet` when none was ever kept (a fresh
        start: beat sends the first within a minute)."""
        if self.heartbeat is None:
            return "none yet"
        if self.heartbeat_late:
            return "missing"
        return "error" if self.heartbeat.get("problems") else "ok"


def queue_oldest(pipe: Any, tier: str) -> None:
    """Add the three commands that find a tier's oldest queued job to a transaction; the
    second's answer is [(job id, created_at)], or [] when nothing waits."""
    # The queued index is small (it holds only waiting jobs), and ZINTERSTORE's cost follows
    # the smallest set: no walk through the tier's whole history.
    scratch = scratch_key(f"oldest:{tier}")
    pipe.zinterstore(scratch, [status_index(JobStatus.QUEUED), tier_index(tier)], aggregate="MIN")
    pipe.zrange(scratch, 0, 0, withscores=True)
    pipe.delete(scratch)


def oldest_waiting_age(client: redis.Redis, tier: str, now: float | None = None) -> float | None:
    """Seconds the tier's oldest queued job has waited (None: nothing waits)."""
    with client.pipeline(transaction=True) as pipe:
        queue_oldest(pipe, tier)
        _, oldest, _ = pipe.execute()
    return ((time.time() if now is None else now) - oldest[0][1]) if oldest else None


def tier_views(
    client: redis.Redis,
    tiers: tuple[str, ...],
    caps: dict[str, tuple[int, float]],
    interval: float = HEARTBEAT_INTERVAL_SECONDS,
) -> list[TierView]:
    """Every tier's view, in two round trips."""
    now = time.time()
    depths = class_depths(client, tiers)
    with client.pipeline(transaction=True) as pipe:
        for tier in tiers:
            queue_oldest(pipe, tier)
            pipe.get(heartbeat_key(tier))
            pipe.zrangebyscore(
                consumers_key(tier), now - CONSUMER_FRESH_INTERVALS * interval, "+inf", withscores=True
            )
            cap = caps.get(tier)
            pipe.zcount(tier_runs_key(tier), now - cap[1] if cap else now, "+inf")
        replies = pipe.execute()
    views = []
    for index, tier in enumerate(tiers):
        _, oldest, _, beat, consumers, used = replies[index * 6 : index * 6 + 6]
        views.append(
            TierView(
                tier=tier,
                queue=queue_for(tier),
                monitor=MONITOR_SLUG.format(tier=tier),
                depth_by_class=depths[tier],
                oldest_waiting=(oldest[0][0], now - oldest[0][1]) if oldest else None,
                heartbeat=json.loads(beat) if beat else None,
                consumers=sorted((host, now - seen) for host, seen in consumers),
                cap=caps.get(tier),
                cap_used=int(used) if caps.get(tier) else 0,
                interval=interval,
            )
        )
    return views


@dataclass
class WorkerView:
    """One worker, as it answered Celery's inspect."""

    hostname: str
    queues: list[str]
    active: list[dict[str, Any]]
    """The tasks it runs now: id, name, started (unix time)."""


def inspect_workers(celery: Celery, timeout: float = 0.5) -> list[WorkerView] | None:
    """Ask every worker which queues it consumes and what it runs (None: the broadcast
    failed). Costs up to `timeout` seconds twice: Celery waits that long for replies."""
    try:
        inspect = celery.control.inspect(timeout=timeout)
        queues = inspect.active_queues() or {}
        active = inspect.active() or {}
    except Exception:  # a broker hiccup shows as "could not ask", never a 500
        return None
    return [
        WorkerView(
            hostname=host,
            queues=sorted(q["name"] for q in queues.get(host) or ()),
            active=[
                {"id": t.get("id"), "name": t.get("name"), "started": t.get("time_start")}
                for t in active.get(host) or ()
            ],
        )
        for host in sorted(set(queues) | set(active))
    ]
