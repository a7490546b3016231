"""Closing the loop with Sentry: comments about a job, and the check that its fix held."""

from __future__ import annotations

import logging
import time
from datetime import datetime

from remediator.jobs import Job, JobStatus, JobStore
from remediator.sentry import comments
from remediator.sentry.api import SentryApi, SentryApiError
from remediator.settings import Settings

log = logging.getLogger(__name__)

DUPLICATE_COMMENT = "already posted that comment"
"""Sentry's answer to a repeated comment: for a retried write-back it means success."""


def sentry_api(settings: Settings) -> SentryApi | None:
    """The REST client, or None when write-back is not configured."""
    if not (settings.sentry_auth_token and settings.sentry_org):
        return None
    return SentryApi(settings.sentry_api_url, settings.sentry_auth_token, settings.sentry_org)


def parse_time(value: str) -> float:
    """Sentry's ISO timestamps as epoch seconds."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def comment_text(job: Job, kind: str, settings: Settings) -> str:
    """The comment for a write-back of this kind."""
    if kind == "submitted":
        return comments.submitted(job)
    if kind == "finished":
        return comments.finished(job, settings.job_url(job.id))
    if kind == "dry_run":
        return comments.dry_run(job)
    if kind == "awaiting_approval":
        return comments.awaiting_approval(job)
    raise ValueError(f"unknown write-back kind {kind!r}")


def write_back(store: JobStore, api: SentryApi, job: Job, kind: str, text: str, attempt: int) -> None:
    """Post a comment on the job's issue and note it on the job; SentryApiError propagates
    (noted) so the task can retry."""
    assert job.sentry_issue_id is not None
    try:
        api.add_comment(job.sentry_issue_id, text)
    except SentryApiError as exc:
        if exc.status == 400 and DUPLICATE_COMMENT in str(exc):
            store.add_note(job.id, f"comment-{kind}", ok=True, attempt=attempt, detail="already posted")
            return
        store.add_note(job.id, f"comment-{kind}", ok=False, attempt=attempt, error=str(exc))
        raise
    store.add_note(job.id, f"comment-{kind}", ok=True, attempt=attempt)


def verify(store: JobStore, api: SentryApi, job: Job) -> JobStatus | None:
    """Ask Sentry whether the issue went quiet after the job; record and announce the
    outcome. Returns the new status, or None if there was nothing to verify."""
    issue_id = job.sentry_issue_id
    if job.status != JobStatus.SUCCEEDED or not issue_id or job.finished_at is None:
        return None
    issue = api.get_issue(issue_id)
    last_seen = parse_time(issue["lastSeen"])
    if last_seen > job.finished_at:
        if not store.transition(job.id, JobStatus.SUCCEEDED, JobStatus.INEFFECTIVE):
            return None
        store.count_outcome(job, "ineffective")
        _announce(store, api, job, "ineffective", comments.ineffective(job, last_seen))
        return JobStatus.INEFFECTIVE
    now = time.time()
    if not store.transition(job.id, JobStatus.SUCCEEDED, JobStatus.VERIFIED, verified_at=now):
        return None
    store.count_outcome(job, "verified", resets_breaker=True)
    job = job.model_copy(update={"status": JobStatus.VERIFIED, "verified_at": now})
    if job.resolve_issue and issue.get("status") != "resolved":
        try:
            api.update_status(issue_id, "resolved")
            store.add_note(job.id, "resolve", ok=True)
        except SentryApiError as exc:
            store.add_note(job.id, "resolve", ok=False, error=str(exc))
    first_seen = parse_time(issue.get("firstSeen") or issue["lastSeen"])
    _announce(store, api, job, "verified", comments.verified(job, first_seen, job.resolve_issue))
    return JobStatus.VERIFIED


def _announce(store: JobStore, api: SentryApi, job: Job, kind: str, text: str) -> None:
    assert job.sentry_issue_id is not None
    try:
        api.add_comment(job.sentry_issue_id, text)
        store.add_note(job.id, f"comment-{kind}", ok=True)
    except SentryApiError as exc:
        # The outcome is recorded either way; a lost comment must not undo it.
        store.add_note(job.id, f"comment-{kind}", ok=False, error=str(exc))
        log.warning("job %s: %s comment failed: %s", job.id, kind, exc)
