"""What a notification says, built from an event: pure, the same for every channel, every
text scrubbed of registered secrets. Channels only lay it out."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from remediator.defaults import PriorityClass
from remediator.lifecycle import Event, EventKind
from remediator.redaction import scrub
from remediator.settings import Settings

SEVERITY_BY_CLASS = {
    PriorityClass.A.value: "critical",
    PriorityClass.B.value: "error",
    PriorityClass.C.value: "warning",
    PriorityClass.D.value: "info",
}
"""How bad a job's failure is, by its rule's class (PagerDuty's severities)."""

BAD = frozenset({EventKind.FAILED, EventKind.INEFFECTIVE, EventKind.NEEDS_ATTENTION})
UNHEALTHY = frozenset({EventKind.BREAKER_OPENED, EventKind.HEARTBEAT_ERROR})

HEADLINES: dict[EventKind, str] = {
    EventKind.FAILED: "Remediation failed",
    EventKind.INEFFECTIVE: "Remediation did not hold: the issue kept producing events",
    EventKind.NEEDS_ATTENTION: "Remediation needs a person: not re-run blindly",
    EventKind.SKIPPED: "Remediation skipped: nothing worth doing",
    EventKind.AWAITING_APPROVAL: "Remediation waits for approval",
    EventKind.SUCCEEDED: "Remediation succeeded",
    EventKind.VERIFIED: "Remediation verified: the issue went quiet",
    EventKind.BREAKER_OPENED: "A rule disabled itself",
    EventKind.BREAKER_CLOSED: "A rule was re-enabled",
    EventKind.HEARTBEAT_ERROR: "A tier is unhealthy",
    EventKind.HEARTBEAT_OK: "A tier is healthy again",
    EventKind.ISSUE_RESOLVED: "Sentry resolved the issue",
    EventKind.RULE_PROMOTED: "A canary rule was promoted",
    EventKind.RULE_DEMOTED: "A rule went back to canary",
}

TAGS_FOR_GITHUB = ("repository", "pull_request", "commit")


@dataclass(frozen=True)
class Message:
    """One notification, ready for any channel (and for a Celery message: plain data)."""

    kind: str
    headline: str
    summary: str
    severity: str = "info"
    facts: list[tuple[str, str]] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)
    rule: str | None = None
    tier: str | None = None
    job_id: str | None = None
    issue_id: str | None = None
    github: dict[str, str] = field(default_factory=dict)
    """Where a GitHub comment goes: repository, pull_request, commit (from the job)."""

    @property
    def dedup_key(self) -> str:
        """One PagerDuty incident per rule and Sentry issue (or rule and tier)."""
        return f"remediator/{self.rule or '-'}/{self.issue_id or self.tier or '-'}"

    @property
    def text(self) -> str:
        """The message as plain text."""
        lines = [self.headline, "", self.summary, ""]
        lines += [f"{name}: {value}" for name, value in self.facts]
        lines += [f"{name}: {url}" for name, url in self.links]
        return "\n".join(lines).strip() + "\n"

    def to_dict(self) -> dict[str, Any]:
        """For a task's arguments."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Message:
        """From a task's arguments."""
        values = dict(data)
        values["facts"] = [tuple(f) for f in values.get("facts", ())]
        values["links"] = [tuple(link) for link in values.get("links", ())]
        return cls(**values)


def message_for(event: Event, settings: Settings) -> Message:
    """The notification of an event."""
    headline = HEADLINES.get(event.kind, f"Remediation event: {event.kind.value}")
    job = event.job
    if job is None:
        subject = f"rule {event.rule}" if event.rule else f"tier {event.tier}"
        why = event.detail.get("reason") or "; ".join(event.detail.get("problems") or ()) or ""
        by = f" by {event.actor}" if event.actor else ""
        page = ("Rules", f"{_base(settings)}/rules") if event.rule else ("Tiers", f"{_base(settings)}/tiers")
        return _scrubbed(
            Message(
                kind=event.kind.value,
                headline=f"{headline}: {subject}",
                summary=why or f"{event.kind.value} for {subject}{by}",
                severity="error" if event.kind in UNHEALTHY else "info",
                facts=[(k, str(v)) for k, v in (("rule", event.rule), ("tier", event.tier)) if v],
                links=[page],
                rule=event.rule,
                tier=event.tier,
                issue_id=event.detail.get("issue_id"),
            )
        )
    title = job.sentry_title or job.rule
    outcome = job.error or job.reason or ""
    links = [("Job", settings.job_url(job.id))]
    if event.kind is EventKind.AWAITING_APPROVAL:
        links.insert(0, ("Approve or reject", f"{_base(settings)}/approvals"))
    if job.sentry_issue_id:
        links.append(("Sentry issue", settings.sentry_issue_url(job.sentry_issue_id)))
    facts = [
        ("Rule", job.rule),
        ("Script", job.script),
        ("Tier", job.tier),
        ("Class", job.priority_class.value),
        ("Namespace", job.namespace),
        ("Status", job.status.value),
    ]
    if job.attempts:
        facts.append(("Attempts", str(job.attempts)))
    if event.actor:
        facts.append(("By", event.actor))
    return _scrubbed(
        Message(
            kind=event.kind.value,
            headline=f"{headline}: {title}",
            summary=(outcome or f"{job.script} for rule {job.rule} on {job.tier}: {event.kind.value}"),
            severity=SEVERITY_BY_CLASS[job.priority_class.value] if event.kind in BAD else "info",
            facts=facts,
            links=links,
            rule=job.rule,
            tier=job.tier,
            job_id=job.id,
            issue_id=job.sentry_issue_id,
            github={k: str(v) for k in TAGS_FOR_GITHUB if (v := job.params.get(k) or job.sentry_tags.get(k))},
        )
    )


def digest_message(
    rule: str | None, window: float, held: list[dict[str, Any]], settings: Settings
) -> Message:
    """One message for what a route held back during its window (each entry: kind, title,
    job_id, tier)."""
    kinds = Counter(entry["kind"] for entry in held)
    counted = ", ".join(f"{n} {kind}" for kind, n in kinds.most_common())
    latest = held[-1]
    scope = f"rule {rule}" if rule else "remediator"
    minutes = f"{window / 60:g} minute" + ("s" if window != 60 else "")
    return _scrubbed(
        Message(
            kind="digest",
            headline=f"{len(held)} more events of {scope} in the last {minutes}: {counted}",
            summary=f"Latest: {latest.get('title') or latest['kind']}",
            severity="error" if any(k in {e.value for e in BAD} for k in kinds) else "info",
            facts=[("Rule", rule or "-"), ("Events", counted)],
            links=[("Jobs", f"{_base(settings)}/jobs" + (f"?rule={rule}" if rule else ""))],
            rule=rule,
            tier=latest.get("tier"),
            job_id=latest.get("job_id"),
            issue_id=latest.get("issue_id"),
        )
    )


def test_message(channel: str, settings: Settings) -> Message:
    """What `remediator notify test` sends."""
    return Message(
        kind="test",
        headline=f"Test message from remediator to channel {channel}",
        summary="If you can read this, the channel works. Nothing happened.",
        links=[("Console", f"{_base(settings)}/")],
    )


def _base(settings: Settings) -> str:
    return (settings.public_url or f"http://127.0.0.1:{settings.port}").rstrip("/")


def _scrubbed(message: Message) -> Message:
    return Message.from_dict(scrub(message.to_dict()))
