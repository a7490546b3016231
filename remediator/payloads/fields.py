"""Which subject fields each resource's body carries, and which a lookup in Sentry fills
when a rule needs one the body lacks. One table, read by the rules (what to look up), by
`rules check` (a test no resource it matches can ever satisfy) and by the README. Pure.

Sources: `issue` bodies are Sentry's issue serializer's base fields (no environment, no
tags: getsentry/sentry `src/sentry/sentry_apps/tasks/sentry_apps.py`, `serialize(issue)`);
`event_alert` and `error` bodies are `event.as_dict()` plus urls, the issue's id and, for
issue-platform events, the `occurrence` (same file, `_webhook_event_data`): the project
only as its numeric id; `metric_alert` bodies carry the alert rule (its environment and
aggregate) and, when Sentry sends them, the projects' slugs.
"""

from __future__ import annotations

TEXT_FIELDS = (
    "title",
    "culprit",
    "level",
    "environment",
    "project",
    "project_id",
    "issue_category",
    "issue_type",
    "substatus",
    "priority",
    "platform",
    "handled",
    "release",
    "aggregate",
)
"""The subject's text fields a rule's `match` may test, each with one condition."""

OTHER_FIELDS = ("exception_type", "tags")
"""The rest a rule may test: any of the exception types, and tags by key."""

_EVENT_CARRIES = frozenset(
    {
        "title",
        "culprit",
        "level",
        "environment",
        "project_id",
        "issue_category",
        "issue_type",
        "platform",
        "handled",
        "release",
        "exception_type",
        "tags",
        "priority",
    }
)

CARRIES: dict[str, frozenset[str]] = {
    "issue": frozenset(
        {
            "title",
            "culprit",
            "level",
            "project",
            "project_id",
            "issue_category",
            "issue_type",
            "substatus",
            "priority",
            "platform",
            "handled",
            "release",
            "exception_type",
        }
    ),
    "event_alert": _EVENT_CARRIES,
    "error": _EVENT_CARRIES,
    "metric_alert": frozenset({"title", "level", "environment", "project", "aggregate"}),
}
"""What the body of each resource can carry (a field may still be empty in one body:
an event without an environment, an older issue body without `issueCategory`)."""

ISSUE_LOOKUP = frozenset({"project", "substatus", "priority", "issue_category", "issue_type", "release"})
"""What the issue itself (`GET …/issues/{id}/`) fills for an event's subject."""

EVENT_LOOKUP = frozenset({"environment", "tags", "handled", "release"})
"""What the issue's latest event (`GET …/issues/{id}/events/latest/`) fills for an issue's subject."""

FILLED: dict[str, frozenset[str]] = {
    "issue": EVENT_LOOKUP,
    "event_alert": ISSUE_LOOKUP,
    "error": ISSUE_LOOKUP,
    "metric_alert": frozenset(),
}
"""What a lookup fills when the body left it empty and a rule asks, per resource."""


def available(resource: str) -> frozenset[str]:
    """What a rule can ever see for a resource: carried or looked up."""
    return CARRIES.get(resource, frozenset()) | FILLED.get(resource, frozenset())
