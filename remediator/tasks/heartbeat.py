"""The per-tier heartbeat: beat routes it to each tier's queue, the tier's worker answers
with a Sentry cron check-in, so a dead worker shows up as a missed check-in."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, cast

from celery import Task, shared_task
from sentry_sdk.crons import capture_checkin
from sentry_sdk.crons.consts import MonitorStatus

from remediator import defaults
from remediator.settings import get_settings
from remediator.tasks._store import worker_store
from remediator.worker.health import record_heartbeat, tier_problems

if TYPE_CHECKING:
    from sentry_sdk._types import MonitorConfig


@shared_task(name=defaults.HEARTBEAT_TASK, bind=True, ignore_result=True)
def heartbeat(self: Task, tier: str) -> dict[str, Any]:
    """Check in `in_progress`, look at the tier's health, then check in `ok` or `error`."""
    settings = get_settings()
    slug = defaults.MONITOR_SLUG.format(tier=tier)
    config = cast("MonitorConfig", {**defaults.MONITOR_CONFIG, "timezone": settings.timezone})
    check_in_id = capture_checkin(monitor_slug=slug, status=MonitorStatus.IN_PROGRESS, monitor_config=config)
    started = time.monotonic()
    client = worker_store().client
    problems = tier_problems(client, tier, settings.max_queue_depth)
    beat = {
        "tier": tier,
        "worker": self.request.hostname or "unknown",
        "at": time.time(),
        "problems": problems,
    }
    if "broker" not in " ".join(problems):
        record_heartbeat(client, beat)
    capture_checkin(
        monitor_slug=slug,
        check_in_id=check_in_id,
        status=MonitorStatus.ERROR if problems else MonitorStatus.OK,
        duration=time.monotonic() - started,
        monitor_config=config,
    )
    return beat
