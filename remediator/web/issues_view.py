"""What the issues pages show: each issue with its jobs (from the issue log and the job
records, never from Sentry), and one issue's story across its webhooks and jobs."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from remediator.issue_log.model import Issue
from remediator.issue_log.store import NO_JOB, Filters, IssueLog
from remediator.jobs import Job, JobStatus, JobStore
from remediator.jobs.keys import issue_key
from remediator.web.present import time_to_recovery

JOBS_SHOWN = 10
"""Most jobs a row of the issues list shows (the newest)."""

CATEGORIES = ("error", "performance", "cron", "uptime", "metric", "outage", "feedback")
"""Sentry's issue categories, for the list's filter."""

OUTCOMES = (*(s.value for s in JobStatus), NO_JOB)
"""What the outcome filter offers: the status of an issue's newest job, or no job."""


@dataclass
class IssueRow:
    """One issue with its newest jobs."""

    issue: Issue
    jobs: list[Job] = field(default_factory=list)
    more_jobs: int = 0

    @property
    def rules(self) -> list[str]:
        """The rules that acted on it, in the order they first did."""
        return list(dict.fromkeys(job.rule for job in reversed(self.jobs)))

    @property
    def recovery(self) -> float | None:
        """The time to verified recovery of its latest verified job."""
        return next((t for job in self.jobs if (t := time_to_recovery(job)) is not None), None)

    @property
    def outcome(self) -> str:
        """The status of its newest job, or NO_JOB."""
        return self.jobs[0].status.value if self.jobs else NO_JOB


def filters_from(args: Any) -> Filters:
    """The listing's filters from a query string (unknown values are dropped)."""
    outcome = args.get("outcome") or None
    return Filters(
        category=args.get("category") or None,
        project=args.get("project") or None,
        environment=args.get("environment") or None,
        outcome=outcome if outcome in OUTCOMES else None,
        open_only=args.get("open") == "1",
    )


def with_jobs(store: JobStore, issues: list[Issue]) -> list[IssueRow]:
    """Each issue with its newest JOBS_SHOWN jobs, in two round trips."""
    with store.client.pipeline(transaction=False) as pipe:
        for issue in issues:
            pipe.smembers(issue_key(issue.id))
        id_sets: list[set[str]] = pipe.execute()
    records = {job.id: job for job in store.get_many([i for ids in id_sets for i in ids])}
    rows = []
    for issue, ids in zip(issues, id_sets, strict=True):
        jobs = sorted((records[i] for i in ids if i in records), key=lambda j: j.created_at, reverse=True)
        rows.append(IssueRow(issue, jobs[:JOBS_SHOWN], max(0, len(jobs) - JOBS_SHOWN)))
    return rows


def story(log: IssueLog, store: JobStore, issue_id: str) -> list[dict[str, Any]]:
    """Everything that happened to one issue, oldest first: its webhooks, each job's
    lifecycle events, and each job's notes (comments, verification, notifications)."""
    entries: list[dict[str, Any]] = [
        {"at": w["at"], "what": w["event"], "actor": w.get("actor"), "kind": "webhook"}
        for w in log.webhooks(issue_id)
    ]
    for job_id in store.jobs_for_issue(issue_id):
        job = store.get(job_id)
        if job is None:
            continue
        for event in job.timeline:
            entries.append(
                {
                    "at": event["at"],
                    "what": event["event"],
                    "actor": event.get("actor"),
                    "kind": "job",
                    "job": job,
                }
            )
        for note in job.notes:
            entries.append(
                {"at": note.get("at", 0), "what": _note_text(note), "kind": "note", "job": job, "note": note}
            )
    return sorted(entries, key=lambda e: e["at"])


def _note_text(note: dict[str, Any]) -> str:
    """A job's note in a few words: `sentry-comments on succeeded: ok`."""
    if note.get("kind") == "listener":
        outcome = "ok" if note.get("ok") else f"failed: {note.get('error', '')}"
        detail = f" ({note['detail']})" if note.get("detail") else ""
        return f"{note.get('listener')} on {note.get('event')}: {outcome}{detail}"
    detail = note.get("detail") or note.get("reason") or note.get("error") or ""
    return f"{note.get('kind', 'note')}{': ' + str(detail) if detail else ''}"


def document(row: IssueRow) -> dict[str, Any]:
    """An issue as the API gives it: what Sentry said last, its state, its newest jobs."""
    return {
        **dataclasses.asdict(row.issue),
        "state": row.issue.state,
        "outcome": row.outcome,
        "recovery_seconds": row.recovery,
        "rules": row.rules,
        "jobs": [
            {"id": j.id, "rule": j.rule, "status": j.status.value, "created_at": j.created_at}
            for j in row.jobs
        ],
        "more_jobs": row.more_jobs,
    }
