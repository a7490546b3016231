"""Subject: the one shape rules see, whatever resource the webhook was."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from remediator.errors import PayloadError
from remediator.payloads.models import ErrorData, Event, EventAlertData, IssueData, MetricAlertData, Webhook


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
    exception_types: tuple[str, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)
    issue_id: str | None = None
    event_id: str | None = None
    alert_id: str | None = None
    """The metric alert incident's id (metric_alert only)."""
    actor_type: str = ""
    actor_id: str = ""
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


def _event_fields(event: Event) -> dict[str, Any]:
    types = [v.type for v in (event.exception.values if event.exception else []) if v.type]
    meta_type = event.metadata.get("type")
    if isinstance(meta_type, str) and meta_type not in types:
        types.insert(0, meta_type)
    tags = {k: v or "" for k, v in event.tags}
    return {
        "title": event.title,
        "culprit": event.culprit or "",
        "level": event.level or "",
        "environment": event.environment or tags.get("environment", ""),
        "release": event.release or tags.get("release", ""),
        "project": str(event.project) if event.project is not None else "",
        "exception_types": tuple(types),
        "tags": tags,
        "issue_id": event.issue_id,
        "event_id": event.event_id,
    }


def subject_of(resource: str, hook: Webhook) -> Subject:
    """Normalise a parsed webhook into the fields rules match on."""
    fields: dict[str, Any]
    data = hook.data
    if isinstance(data, IssueData):
        issue = data.issue
        meta_type = issue.metadata.get("type")
        fields = {
            "title": issue.title,
            "culprit": issue.culprit or "",
            "level": issue.level or "",
            "environment": str(issue.metadata.get("environment") or ""),
            "project": issue.project.slug,
            "exception_types": (meta_type,) if isinstance(meta_type, str) else (),
            "issue_id": issue.id,
            "release": str((issue.first_release or {}).get("version") or ""),
            "events": int(issue.count) if issue.count and issue.count.isdigit() else None,
            "users": issue.user_count,
        }
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
