"""Subject: the one shape rules see, whatever resource the webhook was."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from remediator.errors import PayloadError
from remediator.payloads import issue_types
from remediator.payloads.models import (
    ErrorData,
    Event,
    EventAlertData,
    Issue,
    IssueData,
    MetricAlertData,
    Webhook,
)


@dataclass(frozen=True)
class Deploy:
    """What Sentry says about the subject's release in its environment, looked up by an
    adapter when a rule asks (`new_in_latest_deploy`, `deployed_within`)."""

    release: str
    environment: str
    finished_at: float
    """When the release's last deploy to the environment finished (epoch seconds)."""
    age: float
    """Seconds from that deploy to the webhook."""
    name: str
    """The deploy's name or URL, as recorded in Sentry (who or what deployed it)."""
    latest: bool
    """Whether it is the release deployed last in the environment."""


@dataclass(frozen=True)
class Subject:
    """What a rule looks at: the fields of any resource, normalised to one shape."""

    resource: str
    action: str
    title: str = ""
    culprit: str = ""
    level: str = ""
    environment: str = ""
    project: str = ""
    """The project's slug (event bodies carry only its id: looked up when a rule asks)."""
    project_id: str = ""
    """The project's numeric id, as a string."""
    issue_category: str = ""
    """`error`, `performance`, `cron`, `uptime`, `metric`, `outage`, `feedback`... as Sentry names it."""
    issue_type: str = ""
    """The group type's slug: `error`, `performance_n_plus_one_db_queries`, `monitor_check_in_failure`..."""
    substatus: str = ""
    """`new`, `ongoing`, `escalating`, `regressed`, `archived_until_escalating`..."""
    priority: str = ""
    """`low`, `medium`, `high`."""
    platform: str = ""
    handled: str = ""
    """`yes` or `no` (a crash); "" when the body does not say."""
    aggregate: str = ""
    """A metric alert rule's aggregate (`p95(transaction.duration)`, `count()`)."""
    exception_types: tuple[str, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)
    issue_id: str | None = None
    event_id: str | None = None
    alert_id: str | None = None
    """The metric alert incident's id (metric_alert only)."""
    actor_type: str = ""
    actor_id: str = ""
    actor_name: str = ""
    """Who caused it, as Sentry names them (a person's name, `Sentry`, an integration's)."""
    issue_status: str = ""
    """The issue's status as the body says (`unresolved`, `resolved`, `ignored`; issue webhooks)."""
    release: str = ""
    """The event's release, or the issue's first release (`firstRelease`)."""
    deploy: Deploy | None = None
    """The release's deploy in the subject's environment, when looked up (see Deploy)."""
    events: int | None = None
    """The issue's event count, when the payload says (issue webhooks)."""
    users: int | None = None
    """How many users the issue affected, when the payload says (issue webhooks)."""
    events_last_hour: int | None = None
    """The issue's events in the current hour, when looked up (Sentry's issue stats)."""
    context: dict[str, Any] = field(default_factory=dict)
    """What templates in a rule's params see: the normalised fields and the raw `data`."""


def content_id(subject: Subject) -> str:
    """What identifies the thing a webhook is about, for dedup: the issue for `issue`, the
    event for `error`/`event_alert`, the incident for `metric_alert`."""
    if subject.resource == "issue":
        return subject.issue_id or ""
    if subject.resource == "metric_alert":
        return subject.alert_id or ""
    return subject.event_id or subject.issue_id or ""


def _handled(event: Event, tags: dict[str, str]) -> str:
    if tags.get("handled") in ("yes", "no"):
        return tags["handled"]
    mechanisms = [v.mechanism for v in (event.exception.values if event.exception else []) if v.mechanism]
    flags = [m.get("handled") for m in mechanisms if isinstance(m.get("handled"), bool)]
    if flags:
        return "no" if not all(flags) else "yes"
    return ""


def _event_fields(event: Event) -> dict[str, Any]:
    types = [v.type for v in (event.exception.values if event.exception else []) if v.type]
    meta_type = event.metadata.get("type")
    if isinstance(meta_type, str) and meta_type not in types:
        types.insert(0, meta_type)
    tags = {k: v or "" for k, v in event.tags}
    occurrence = event.occurrence or {}
    issue_type, category = issue_types.from_occurrence(occurrence.get("type"))
    if not category:
        issue_type, category = issue_types.from_event_type(event.type)
    project = event.project
    numeric = isinstance(project, int) or (isinstance(project, str) and project.isdigit())
    title = event.title or str(occurrence.get("issueTitle") or "")
    return {
        "title": title,
        "culprit": event.culprit or str(occurrence.get("culprit") or ""),
        "level": event.level or tags.get("level", ""),
        "environment": event.environment or tags.get("environment", ""),
        "release": event.release_version or tags.get("release", ""),
        "project": "" if numeric or project is None else str(project),
        "project_id": str(project) if numeric else "",
        "issue_category": category,
        "issue_type": issue_type,
        "priority": issue_types.priority_name(occurrence.get("priority")),
        "platform": event.platform or "",
        "handled": _handled(event, tags),
        "exception_types": tuple(types),
        "tags": tags,
        "issue_id": event.issue_id,
        "event_id": event.event_id,
    }


def _issue_fields(issue: Issue) -> dict[str, Any]:
    meta_type = issue.metadata.get("type")
    issue_type = issue.issue_type or ""
    category = issue.issue_category or ""
    if not issue_type and issue.type:
        # Older bodies: `type` is the event type of an error issue, or the group type's slug.
        if issue.type in issue_types.ERROR_EVENT_TYPES:
            issue_type = "error"
        elif issue.type != "generic":
            issue_type = issue.type
    if not category and issue_type:
        category = issue_types.category_of_type(issue_type)
    release = issue.first_release or {}
    return {
        "title": issue.title,
        "culprit": issue.culprit or "",
        "level": issue.level or "",
        # An issue body has no environment (Sentry's issue serializer sends none): looked up.
        "project": issue.project.slug,
        "project_id": issue.project.id,
        "issue_category": category,
        "issue_type": issue_type,
        "substatus": issue.substatus or "",
        "issue_status": issue.status or "",
        "priority": issue_types.priority_name(issue.priority),
        "platform": issue.platform or "",
        "handled": "" if issue.is_unhandled is None else ("no" if issue.is_unhandled else "yes"),
        "exception_types": (meta_type,) if isinstance(meta_type, str) else (),
        "issue_id": issue.id,
        "release": str(release.get("version") or "") if isinstance(release, dict) else "",
        "events": int(issue.count) if issue.count and issue.count.isdigit() else None,
        "users": issue.user_count,
    }


def subject_of(resource: str, hook: Webhook) -> Subject:
    """Normalise a parsed webhook into the fields rules match on."""
    fields: dict[str, Any]
    data = hook.data
    if isinstance(data, IssueData):
        fields = _issue_fields(data.issue)
    elif isinstance(data, EventAlertData):
        fields = _event_fields(data.event)
    elif isinstance(data, ErrorData):
        fields = _event_fields(data.error)
    elif isinstance(data, MetricAlertData):
        alert = data.metric_alert
        fields = {
            "title": data.description_title or alert.title or alert.alert_rule.name,
            "level": hook.action,
            "environment": alert.alert_rule.environment or "",
            "project": alert.projects[0] if alert.projects else "",
            "aggregate": alert.alert_rule.aggregate or "",
            "alert_id": alert.id,
        }
    else:  # pragma: no cover - MODELS and this function change together
        raise PayloadError(f"no subject for resource {resource!r}")
    actor = hook.actor
    subject = Subject(
        resource=resource,
        action=hook.action,
        actor_type=actor.type if actor else "",
        actor_id=str(actor.id) if actor else "",
        actor_name=(actor.name or "") if actor else "",
        **fields,
    )
    context = {
        f.name: getattr(subject, f.name)
        for f in dataclasses.fields(subject)
        if f.name not in ("context", "deploy")
    }
    context["exception_type"] = next(iter(subject.exception_types), "")
    raw = hook._raw_data
    context["data"] = raw if raw is not None else hook.model_dump(mode="json", by_alias=True)["data"]
    return dataclasses.replace(subject, context=context)
