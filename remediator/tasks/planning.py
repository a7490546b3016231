"""The task that plans a webhook the web accepted but could not finish looking up."""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

from celery import Task, current_app, shared_task

from remediator import defaults
from remediator.dispatch import Dispatcher, dispatcher_for
from remediator.intake.process import Intake
from remediator.sentry.lookups import SubjectLookups, webhook_lookups
from remediator.settings import get_settings
from remediator.tasks.events import backoff
from remediator.tasks.worker_process import worker_lifecycle, worker_live_rules

log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def _parts() -> tuple[Dispatcher, SubjectLookups | None]:
    settings = get_settings()
    dispatcher = dispatcher_for(settings, current_app._get_current_object(), worker_lifecycle())
    return dispatcher, webhook_lookups(settings, patient=True)


@shared_task(name=defaults.PLAN_TASK, bind=True, ignore_result=True, acks_late=True)
def plan_webhook(self: Task, resource: str, body: str) -> dict[str, Any]:
    """Plan a deferred webhook exactly as the web would have, looking up with time to
    wait; while Sentry still does not answer, try again later; at the last attempt, plan
    without the answers (saying so)."""
    dispatcher, lookups = _parts()
    attempt = self.request.retries + 1

    def again(_resource: str, _body: bytes, unanswered: list[str]) -> bool:
        if attempt < defaults.PLAN_MAX_ATTEMPTS:
            raise self.retry(countdown=backoff(attempt), max_retries=defaults.PLAN_MAX_ATTEMPTS)
        log.warning("deferred %s webhook planned without: %s", resource, "; ".join(unanswered))
        return False

    intake = Intake(
        worker_live_rules(),
        dispatcher,
        get_settings().sentry_app_id,
        lookups.enrich if lookups else None,
        defer=again,
    )
    document, _ = intake.process(resource, body.encode())
    return document
