"""The `sentry` verification strategy: after a quiet window, did the issue stop?"""

from __future__ import annotations

import logging
import time

from remediator.jobs import Job, JobStatus
from remediator.lifecycle import Lifecycle
from remediator.sentry.api import SentryApi, SentryApiError, parse_time

log = logging.getLogger(__name__)


def verify(lifecycle: Lifecycle, api: SentryApi, job: Job) -> JobStatus | None:
    """Ask Sentry whether the issue went quiet after the job; move the job to verified
    (resolving the issue unless the rule says not to) or ineffective. Returns the new status,
    or None if there was nothing to verify. SentryApiError propagates so the task retries."""
    issue_id = job.sentry_issue_id
    if job.status != JobStatus.SUCCEEDED or not issue_id or job.finished_at is None:
        return None
    issue = api.get_issue(issue_id)
    last_seen = parse_time(issue["lastSeen"])
    if last_seen > job.finished_at:
        moved = lifecycle.move(
            job, JobStatus.SUCCEEDED, JobStatus.INEFFECTIVE, detail={"last_seen": last_seen}
        )
        return JobStatus.INEFFECTIVE if moved else None
    first_seen = parse_time(issue.get("firstSeen") or issue["lastSeen"])
    detail = {"first_seen": first_seen, "resolves": job.resolve_issue}
    moved = lifecycle.move(
        job, JobStatus.SUCCEEDED, JobStatus.VERIFIED, detail=detail, verified_at=time.time()
    )
    if moved is None:
        return None
    if job.resolve_issue and issue.get("status") != "resolved":
        resolve(lifecycle, api, job)
    return JobStatus.VERIFIED


def resolve(lifecycle: Lifecycle, api: SentryApi, job: Job) -> bool:
    """Resolve the job's Sentry issue, noting the outcome on the job; a failure is noted and
    logged, never raised (the verification is recorded either way)."""
    assert job.sentry_issue_id
    try:
        api.update_status(job.sentry_issue_id, "resolved")
    except SentryApiError as exc:
        lifecycle.store.add_note(job.id, "resolve", ok=False, error=str(exc))
        log.warning("job %s: resolving issue %s failed: %s", job.id, job.sentry_issue_id, exc)
        return False
    lifecycle.store.add_note(job.id, "resolve", ok=True)
    return True
