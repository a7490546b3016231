"""The texts remediator posts on Sentry issues. Each carries the job id: Sentry refuses the
same text twice on an issue within an hour."""

from __future__ import annotations

from datetime import UTC, datetime

from remediator.durations import span_text
from remediator.jobs import Job, JobStatus


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def human_duration(seconds: float) -> str:
    """1.2s, 3m 05s, 2h 01m."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def _what(job: Job) -> str:
    return f"{job.script} ({job.tier}, class {job.priority_class.value})"


def submitted(job: Job) -> str:
    """Posted when a job is submitted for the issue."""
    why = f" ({job.class_reason})" if job.class_reason else ""
    return (
        f"Automated remediation job {job.id} submitted: {_what(job)}, rule '{job.rule}'{why}.{_release(job)}"
        f"{_settling(job)}"
    )


def _settling(job: Job) -> str:
    if job.settle_until is None:
        return ""
    wait = span_text(job.settle_until - job.created_at)
    return f" It waits {wait} before it runs ({job.settle_note}); resolving the issue meanwhile cancels it."


def _release(job: Job) -> str:
    return f" The issue {job.release_note}." if job.release_note else ""


def finished(job: Job, url: str) -> str:
    """Posted when the job has run."""
    took = human_duration(job.duration) if job.duration is not None else "an unknown time"
    if job.status == JobStatus.SUCCEEDED:
        outcome = f"succeeded in {took}"
        if job.verification == "rebuild":
            outcome += "; its final rebuild is the verification"
        elif job.verify_after is not None:
            outcome += (
                f"; remediator will check in {human_duration(job.verify_after)} that no new events arrive"
            )
    elif job.status == JobStatus.FAILED:
        outcome = f"failed after {took}: {job.error}"
    else:
        outcome = f"ended {job.status.value}: {job.reason or job.error}"
    return f"Automated remediation job {job.id} {outcome}. {_what(job)}. Details: {url}"


def verified(job: Job, first_seen: float, resolved: bool) -> str:
    """Posted when the issue stayed quiet after the job."""
    assert job.finished_at is not None and job.verified_at is not None
    recovery = human_duration(job.verified_at - first_seen)
    action = (
        "Resolving the issue." if resolved else "Leaving the issue's status as it is (resolve_issue: false)."
    )
    return (
        f"Verified: no new events since remediation job {job.id} ({job.script}) finished at "
        f"{_when(job.finished_at)}. Time to recovery (first event to verified): {recovery}. {action}"
    )


def rebuilt(job: Job, pull_request: str | None, merged: bool | None, resolved: bool) -> str:
    """Posted when a build fix is verified by its own final rebuild."""
    if merged is None:
        state = "whether its pull request was merged could not be asked of GitHub"
    else:
        state = "its pull request was merged" if merged else "its pull request is not merged yet"
    action = (
        "Resolving the issue."
        if resolved
        else "Leaving the issue open (it is resolved when the rule asks and the pull request was merged)."
    )
    return (
        f"Verified: the build passes with the fix of remediation job {job.id} ({job.script}), "
        f"proven by its final rebuild; {state} ({pull_request or 'no pull request'}). {action}"
    )


def ineffective(job: Job, last_seen: float) -> str:
    """Posted when events kept coming after the job."""
    assert job.finished_at is not None
    return (
        f"Remediation job {job.id} ({job.script}) did not stop this issue: events kept arriving "
        f"after it finished at {_when(job.finished_at)} (last seen {_when(last_seen)}). "
        f"Recorded as ineffective for rule '{job.rule}'."
    )


def dry_run(job: Job) -> str:
    """Posted instead of running, when the rule or the system is in dry-run mode."""
    return (
        f"Dry run (job {job.id}): would run {_what(job)} for rule '{job.rule}' with params "
        f"{sorted(job.params)}; nothing was executed."
    )


def awaiting_approval(job: Job) -> str:
    """Posted when a job waits for a person (or several)."""
    who = "approval" if job.approvers_needed == 1 else f"{job.approvers_needed} different approvers"
    return (
        f"Remediation job {job.id} is waiting for {who}: {_what(job)}, rule "
        f"'{job.rule}'.{_release(job)} An approver approves it on the console's Approvals page "
        f"or with `remediator jobs approve {job.id}`."
    )


def approved(job: Job) -> str:
    """Posted when the job is approved (the approvers are the people their tokens or
    sign-ins belong to, as the audit trail records them)."""
    names = " and ".join((job.approved_by or "someone").split(", "))
    return (
        f"Remediation job {job.id} approved by {names}: {_what(job)}, rule '{job.rule}', "
        f"now queued.{_release(job)}"
    )
