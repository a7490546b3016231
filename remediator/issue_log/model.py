"""An issue as remediator last heard of it, and what one webhook changes of it. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from remediator.payloads import Subject

OPEN, RESOLVED, IGNORED = "unresolved", "resolved", "ignored"

ACTION_STATUS = {
    "created": OPEN,
    "unresolved": OPEN,
    "resolved": RESOLVED,
    "ignored": IGNORED,
    "archived": IGNORED,
}
"""The status an issue webhook's action leaves the issue in."""

REMEDIATOR = "remediator"
"""Who resolved an issue when the resolution came from remediator's own API call."""


@dataclass(frozen=True)
class Issue:
    """What the webhooks said of one issue, last value first (text is data: shown escaped)."""

    id: str
    title: str = ""
    culprit: str = ""
    category: str = ""
    type: str = ""
    project: str = ""
    environment: str = ""
    level: str = ""
    events: int | None = None
    users: int | None = None
    status: str = OPEN
    """Its status in Sentry as last known: unresolved, resolved, ignored."""
    resolved_by: str = ""
    """Who resolved it (REMEDIATOR, or the person Sentry named), while resolved."""
    regressed: bool = False
    """It came back after a resolution (Sentry's `regressed` substatus or an unresolve)."""
    first_seen: float = 0.0
    """When remediator first heard of it."""
    last_seen: float = 0.0
    """When a webhook last spoke of it."""
    outcome: str = ""
    """The status of its newest job, kept by the job store's own status changes ("": none)."""
    resolved_at: float | None = None
    """When the webhook saying it was resolved arrived (the last such one)."""

    @property
    def is_open(self) -> bool:
        """Whether it is still unresolved in Sentry as far as remediator knows."""
        return self.status == OPEN

    @property
    def state(self) -> str:
        """Its status in Sentry in words: `open`, `regressed`, `resolved by remediator`,
        `resolved by <name>`, `ignored`."""
        if self.status == RESOLVED:
            return f"resolved by {self.resolved_by}" if self.resolved_by else "resolved"
        if self.status == IGNORED:
            return "ignored"
        return "regressed" if self.regressed else "open"

    @classmethod
    def from_fields(cls, issue_id: str, fields: dict[str, str]) -> Issue:
        """An issue from its stored hash (every value a string)."""

        def number(name: str) -> int | None:
            value = fields.get(name, "")
            return int(value) if value.isdigit() else None

        return cls(
            id=issue_id,
            **{
                name: fields.get(name, "")
                for name in (
                    "title",
                    "culprit",
                    "category",
                    "type",
                    "project",
                    "environment",
                    "level",
                    "status",
                    "resolved_by",
                    "outcome",
                )
            },
            events=number("events"),
            users=number("users"),
            regressed=fields.get("regressed") == "1",
            first_seen=float(fields.get("first_seen") or 0),
            resolved_at=float(fields["resolved_at"]) if fields.get("resolved_at") else None,
            last_seen=float(fields.get("last_seen") or 0),
        )


def changes(subject: Subject, own_app: bool, at: float) -> dict[str, str]:
    """The fields one webhook sets on its issue: what it says (empty values never replace
    known ones), and, for an issue webhook, the status its action leaves and who resolved it
    (`own_app`: the webhook was caused by remediator's own API call)."""
    said: dict[str, Any] = {
        "title": subject.title,
        "culprit": subject.culprit,
        "category": subject.issue_category,
        "type": subject.issue_type,
        "project": subject.project or subject.project_id,
        "environment": subject.environment,
        "level": subject.level if subject.resource != "metric_alert" else "",
        "events": subject.events,
        "users": subject.users,
        "last_seen": at,
    }
    fields = {name: str(value) for name, value in said.items() if value not in (None, "")}
    if subject.resource != "issue":
        return fields
    status = ACTION_STATUS.get(subject.action) or subject.issue_status
    if status:
        fields["status"] = status
    if status == RESOLVED:
        fields["resolved_by"] = REMEDIATOR if own_app else (subject.actor_name or subject.actor_type or "")
        fields["resolved_at"] = str(at)
    elif status:
        fields["resolved_by"] = ""
    if subject.substatus == "regressed" or subject.action == "unresolved":
        fields["regressed"] = "1"
    return fields


def timeline_entry(subject: Subject, own_app: bool, at: float) -> dict[str, Any]:
    """The issue's timeline entry for one webhook."""
    actor = REMEDIATOR if own_app else subject.actor_name or subject.actor_type
    return {"at": at, "event": f"{subject.resource}.{subject.action}", "actor": actor or None}
