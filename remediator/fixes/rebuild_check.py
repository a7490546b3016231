"""The `rebuild` verification strategy, decided: a build fix is verified by its own final
rebuild, and resolves its Sentry issue only when the rule asks and the fix's pull request
was merged."""

from __future__ import annotations

import time
from collections.abc import Callable

from remediator.errors import JobFailed
from remediator.jobs import Job, JobStatus
from remediator.lifecycle import Lifecycle


def verify_rebuild(
    lifecycle: Lifecycle,
    job: Job,
    merged: Callable[[int], bool],
    resolve: Callable[[Job], bool] | None,
) -> str:
    """Move a succeeded build fix to verified when its final rebuild passed (a build that
    was not reproducible changed nothing and stays `succeeded`). `merged(number)` asks
    GitHub about the fix's pull request; `resolve(job)` resolves the Sentry issue (None:
    Sentry's API is not configured). Returns what was decided, for the note."""
    output = job.output or {}
    if job.status != JobStatus.SUCCEEDED:
        return f"nothing to verify: the job is {job.status.value}"
    if not output.get("final_build_passed"):
        return "nothing to verify: the build was not reproducible, nothing was changed"
    number = output.get("pull_request_number")
    unknown = None
    try:
        is_merged = number is not None and merged(int(number))
    except JobFailed as exc:
        is_merged, unknown = False, str(exc)
    resolves = job.resolve_issue and is_merged and resolve is not None and bool(job.sentry_issue_id)
    detail = {
        "rebuild": "passed",
        "pull_request": output.get("pull_request"),
        "merged": None if unknown else is_merged,
        "resolves": resolves,
        "first_seen": job.created_at,
    }
    moved = lifecycle.move(
        job, JobStatus.SUCCEEDED, JobStatus.VERIFIED, detail=detail, verified_at=time.time()
    )
    if moved is None:
        return "already moved on"
    if resolves and resolve is not None:
        resolve(moved)
    why = "merged" if is_merged else (unknown or "not merged yet") + ": the issue stays open"
    return f"verified by the final rebuild; pull request {why}"
