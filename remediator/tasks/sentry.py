"""Tasks that talk to Sentry about a job: comments, and the verification of its fix."""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task

from remediator import defaults
from remediator.sentry import loop
from remediator.sentry.api import RETRY_STATUSES, SentryApiError
from remediator.settings import get_settings
from remediator.tasks._store import worker_store

MAX_RETRIES = 8
"""A failed write-back is retried for about half an hour; it never touches the job's outcome."""


def _retry_or_give_up(task: Task, exc: SentryApiError) -> None:
    """Retry what may pass (unreachable, 429, 5xx) with backoff; give up on the rest."""
    if exc.status is None or exc.status in RETRY_STATUSES:
        raise task.retry(exc=exc, countdown=min(300, 5 * 2**task.request.retries), max_retries=MAX_RETRIES)


@shared_task(name=defaults.WRITEBACK_TASK, bind=True, ignore_result=True)
def writeback(self: Task, job_id: str, kind: str) -> dict[str, Any]:
    """Comment on the job's Sentry issue that it was submitted, or how it finished."""
    settings, store = get_settings(), worker_store()
    api, job = loop.sentry_api(settings), store.get(job_id)
    if api is None or job is None or not job.sentry_issue_id:
        return {"skipped": True}
    text = loop.comment_text(job, kind, settings)
    try:
        loop.write_back(store, api, job, kind, text, attempt=self.request.retries + 1)
    except SentryApiError as exc:
        _retry_or_give_up(self, exc)
        return {"gave_up": str(exc)}
    return {"posted": kind}


@shared_task(name=defaults.VERIFY_TASK, bind=True, ignore_result=True)
def verify(self: Task, job_id: str) -> dict[str, Any]:
    """Check in Sentry that the issue went quiet after the job; resolve it if so."""
    settings, store = get_settings(), worker_store()
    api, job = loop.sentry_api(settings), store.get(job_id)
    if api is None or job is None:
        return {"skipped": True}
    try:
        status = loop.verify(store, api, job)
    except SentryApiError as exc:
        store.add_note(job_id, "verify", ok=False, attempt=self.request.retries + 1, error=str(exc))
        _retry_or_give_up(self, exc)
        return {"gave_up": str(exc)}
    return {"status": status.value if status else None}
