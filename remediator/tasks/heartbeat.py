"""The per-tier heartbeat: beat routes it to each tier's queue, the tier's worker answers
with a Sentry cron check-in, so a dead worker shows up as a missed check-in."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, cast

import redis
from celery import Task, shared_task
from sentry_sdk.crons import capture_checkin
from sentry_sdk.crons.consts import MonitorStatus

from remediator import defaults
from remediator.lifecycle import Event, EventKind
from remediator.settings import get_settings
from remediator.tasks.worker_process import worker_lifecycle
from remediator.trends.store import note_tier
from remediator.worker.health import consuming, record_heartbeat, tier_problems
from remediator.worker.tiers import oldest_waiting_age

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from sentry_sdk._types import MonitorConfig


def upsert_config(timezone: str) -> MonitorConfig:
    """The `monitor_config` every check-in carries: Sentry creates the tier's monitor from it
    (or puts it back), the same config `remediator sentry setup` writes."""
    return cast("MonitorConfig", {**defaults.MONITOR_CONFIG, "timezone": timezone})


def note_peaks(client: redis.Redis, tier: str, depth: int) -> None:
    """Keep the tier's queue depth and oldest waiting age for the trends (a chart is never
    worth a missed check-in: a failure is logged)."""
    try:
        note_tier(client, tier, depth, oldest_waiting_age(client, tier))
    except redis.RedisError as exc:
        log.warning("tier %s: queue peaks not kept for the trends: %s", tier, exc)


@shared_task(name=defaults.HEARTBEAT_TASK, bind=True, ignore_result=True)
def heartbeat(self: Task, tier: str) -> dict[str, Any]:
    """Check in `in_progress`, look at the tier's health, then check in `ok` or `error`."""
    settings = get_settings()
    slug = defaults.MONITOR_SLUG.format(tier=tier)
    config = upsert_config(settings.timezone)
    check_in_id = capture_checkin(monitor_slug=slug, status=MonitorStatus.IN_PROGRESS, monitor_config=config)
    started = time.monotonic()
    lifecycle = worker_lifecycle()
    client = lifecycle.store.client
    depth, problems = tier_problems(client, tier, settings.max_queue_depth)
    worker = self.request.hostname or "unknown"
    beat = {"tier": tier, "worker": worker, "at": time.time(), "problems": problems}
    if depth is not None:
        consuming(client, tier, worker)
        note_peaks(client, tier, depth)
        previous = record_heartbeat(client, beat, settings.heartbeat_interval)
        if previous is None or bool(previous.get("problems")) != bool(problems):
            kind = EventKind.HEARTBEAT_ERROR if problems else EventKind.HEARTBEAT_OK
            lifecycle.emit(Event(kind=kind, tier=tier, actor=worker, detail={"problems": problems}))
    capture_checkin(
        monitor_slug=slug,
        check_in_id=check_in_id,
        status=MonitorStatus.ERROR if problems else MonitorStatus.OK,
        duration=time.monotonic() - started,
        monitor_config=config,
    )
    return beat
