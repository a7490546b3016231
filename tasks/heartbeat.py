"""The per-tier heartbeat: beat routes it to each tier's queue, the tier's worker answers."""

from __future__ import annotations

import time
from typing import Any

from celery import Task, shared_task

from remediator import defaults
from remediator.health import record_heartbeat
from tasks._store import worker_store


@shared_task(name=defaults.HEARTBEAT_TASK, bind=True, ignore_result=True)
def heartbeat(self: Task, tier: str) -> dict[str, Any]:
    """Record that this tier's worker is alive and taking work."""
    beat = {"tier": tier, "worker": self.request.hostname or "unknown", "at": time.time()}
    record_heartbeat(worker_store().client, beat)
    return beat
