"""How the dashboard words and tones what it shows: pure functions, no request, no Redis."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from remediator.durations import span_text
from remediator.jobs.model import Job, JobStatus

ACTIONS: dict[JobStatus, tuple[str, ...]] = {
    JobStatus.AWAITING_APPROVAL: ("approve", "reject"),
    JobStatus.HELD: ("release", "discard"),
}
"""What an operator may do to a job, by its status (nothing, for the others)."""

TONES: dict[str, frozenset[JobStatus]] = {
    "good": frozenset({JobStatus.SUCCEEDED, JobStatus.VERIFIED}),
    "bad": frozenset({JobStatus.FAILED, JobStatus.INEFFECTIVE, JobStatus.NEEDS_ATTENTION}),
    "wait": frozenset({JobStatus.AWAITING_APPROVAL, JobStatus.HELD}),
    "busy": frozenset({JobStatus.QUEUED, JobStatus.RUNNING}),
}
"""Badge colours: everything else (decisions not to run) is muted."""


def tone(status: str) -> str:
    """The badge tone of a status."""
    return next((name for name, members in TONES.items() if status in members), "muted")


def actions(job: Job) -> tuple[str, ...]:
    """The decisions the job's status allows."""
    return ACTIONS.get(job.status, ())


def span(seconds: float | None) -> str:
    """A duration in the largest sensible units: `850 ms`, `12.3 s`, `4 min 5 s`, `3 h 2 min`."""
    if seconds is None:
        return "—"
    seconds = max(0.0, seconds)
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} d {hours % 24} h"


def ago(at: float | None, now: float | None = None) -> str:
    """How long ago a moment was, coarsely: `5 s`, `3 min`, `2 h`, `4 d`."""
    if at is None:
        return "—"
    return span_text((time.time() if now is None else now) - at)


def stamp(at: float | None) -> str:
    """A moment as UTC, to the second."""
    if at is None:
        return "—"
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def size(n: int) -> str:
    """Bytes in the largest sensible unit: `912 B`, `3.4 MiB`, `1.2 GiB`."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"  # pragma: no cover - the loop returns at GiB


def hour_label(at: float, range_name: str = "24h") -> str:
    """An hourly bucket's start as a table shows it (UTC): `14:00` within a day, else
    `Tue 3 Dec 14:00`."""
    moment = datetime.fromtimestamp(at, UTC)
    return moment.strftime("%H:%M") if range_name == "24h" else moment.strftime("%a %-d %b %H:%M")


def iso(at: float | None) -> str:
    """A moment for a `<time datetime>` attribute."""
    return "" if at is None else datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds")


def pretty(value: Any) -> str:
    """JSON for a <pre> block (the template escapes it)."""
    return json.dumps(value, indent=2, sort_keys=True, default=str)


def time_to_recovery(job: Job) -> float | None:
    """From the job's creation (the alert) to Sentry confirming the fix, when it did."""
    if job.status is not JobStatus.VERIFIED or job.verified_at is None:
        return None
    return job.verified_at - job.created_at


def _condition(field: str, condition: Any) -> str:
    if not isinstance(condition, dict):
        return f"{field} is {condition}"
    if "contains" in condition:
        return f"{field} contains “{condition['contains']}”"
    if "equals" in condition:
        return f"{field} is “{condition['equals']}”"
    if "regex" in condition:
        return f"{field} matches /{condition['regex']}/"
    values = condition.get("in") or condition.get("in_") or ()
    return f"{field} is one of " + ", ".join(f"“{v}”" for v in values)


def describe_match(match: dict[str, Any]) -> str:
    """A rule's match (as the API dumps it, defaults left out) as a person would write it:
    `title contains “Build failed” and environment is “production”`."""
    parts: list[str] = []
    for field, value in match.items():
        if field == "resource":
            parts.append("from " + " or ".join(value) + " webhooks")
        elif field == "action":
            parts.append("on " + " or ".join(value))
        elif field == "tags":
            parts.extend(_condition(f"tag {name}", cond) for name, cond in value.items())
        elif field == "new_in_latest_deploy":
            parts.append("began with the latest deploy" if value else "did not begin with the latest deploy")
        elif field == "deployed_within":
            parts.append(f"the latest deploy within {span(value)}")
        else:
            parts.append(_condition(field.replace("_", " "), value))
    return " and ".join(parts) or "every webhook"


def outcome_story(outcomes: dict[str, int]) -> str:
    """A rule's outcome counts without seeming to overlap: runs, how they ended, and what
    verification found of the successes: `4 runs: 3 succeeded, 1 failed → 2 verified, 1 ineffective`."""
    succeeded, failed = outcomes.get("succeeded", 0), outcomes.get("failed", 0)
    verified, ineffective = outcomes.get("verified", 0), outcomes.get("ineffective", 0)
    runs = succeeded + failed
    if runs == 0:
        return "no runs yet"
    text = f"{runs} run{'s' if runs != 1 else ''}: {succeeded} succeeded, {failed} failed"
    if verified or ineffective:
        text += f" → {verified} verified, {ineffective} ineffective"
    return text


STRATEGIES = {
    "sentry": "Sentry's quiet window: no new event for {quiet}",
    "rebuild": "the fix's final rebuild passes (and, to resolve, its pull request is merged)",
    "none": "none: the job only analyses or notifies",
}


def verification(job: Job) -> dict[str, str]:
    """What the job page's verification box says: the strategy, what did happen, and
    whether the issue was (or will be) resolved, in words."""
    strategy = job.verification or "sentry"
    how = STRATEGIES.get(strategy, strategy).format(quiet=span(job.verify_after))
    moved_at = {entry.get("event"): entry.get("at") for entry in job.timeline}
    status = job.status
    if status is JobStatus.VERIFIED:
        outcome = f"verified at {stamp(job.verified_at)}"
        resolves = "yes: resolved when verified" if job.resolve_issue else "no (comments only)"
    elif status is JobStatus.INEFFECTIVE:
        outcome = f"ineffective at {stamp(moved_at.get('ineffective'))}: the issue kept producing events"
        resolves = "no: the fix did not hold"
    elif strategy == "none":
        outcome = "nothing to verify"
        resolves = "no (nothing verifies it)"
    elif status is JobStatus.SUCCEEDED:
        quiet = f": checked after {span(job.verify_after)} of quiet" if strategy == "sentry" else ""
        outcome = f"pending{quiet}"
        resolves = "yes, once verified" if job.resolve_issue else "no (comments only)"
    elif status in (JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.AWAITING_APPROVAL, JobStatus.HELD):
        outcome = f"not yet: the job is {status.value.replace('_', ' ')}"
        resolves = "yes, once it succeeds and is verified" if job.resolve_issue else "no (comments only)"
    else:
        outcome = f"none: the job ended {status.value.replace('_', ' ')}, so nothing was verified"
        resolves = "no: the job did not succeed"
    return {"strategy": how, "outcome": outcome, "resolves": resolves}


def expires_in(job: Job, ttl: float, now: float | None = None) -> float:
    """Seconds left before a job awaiting approval expires (0 when overdue)."""
    return max(0.0, job.created_at + ttl - (time.time() if now is None else now))


def safe_next(target: str | None, default: str) -> str:
    """A local path to go back to after a form (never another site)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default
