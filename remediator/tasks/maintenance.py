"""Housekeeping beat asks each tier's worker to do: expire approvals nobody gave."""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task

from remediator import defaults
from remediator.dispatch import dispatcher_for
from remediator.settings import get_settings
from remediator.tasks.worker_process import worker_lifecycle


@shared_task(name=defaults.SWEEP_TASK, bind=True, ignore_result=True)
def sweep(self: Task) -> dict[str, Any]:
    """Expire jobs that waited for approval longer than REMEDIATOR_APPROVAL_TTL_SECONDS, and
    reconcile queued records with the broker (REMEDIATOR_RECONCILE_AFTER)."""
    settings = get_settings()
    dispatcher = dispatcher_for(settings, self.app, worker_lifecycle())
    expired = dispatcher.expire_stale()
    reconciled = dispatcher.reconcile(settings.tiers, settings.reconcile_after)
    return {"expired": expired, **reconciled}
