"""The task of the `sentry` verification strategy: the quiet-window check."""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task

from remediator import defaults
from remediator.sentry.api import RETRY_STATUSES, SentryApiError, api_for
from remediator.sentry.quiet_window import verify as verify_in_sentry
from remediator.settings import get_settings
from remediator.tasks.events import backoff
from remediator.tasks.worker_process import worker_lifecycle


@shared_task(name=defaults.VERIFY_TASK, bind=True, ignore_result=True)
def verify(self: Task, job_id: str) -> dict[str, Any]:
    """Check in Sentry that the issue went quiet after the job; resolve it if so."""
    lifecycle = worker_lifecycle()
    api, job = api_for(get_settings()), lifecycle.store.get(job_id)
    if api is None or job is None:
        return {"skipped": True}
    try:
        status = verify_in_sentry(lifecycle, api, job)
    except SentryApiError as exc:
        attempt = self.request.retries + 1
        lifecycle.store.add_note(job_id, "verify", ok=False, attempt=attempt, error=str(exc))
        if exc.status is None or exc.status in RETRY_STATUSES:
            raise self.retry(
                exc=exc, countdown=backoff(attempt), max_retries=defaults.DELIVER_MAX_ATTEMPTS
            ) from exc
        return {"gave_up": str(exc)}
    return {"status": status.value if status else None}
