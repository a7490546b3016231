"""Pydantic models of Sentry's integration-platform webhooks and the subject rules match on."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from remediator.errors import PayloadError


class _Model(BaseModel):
    # Sentry adds fields over time; keep what we don't model instead of refusing it.
    model_config = ConfigDict(extra="allow", populate_by_name=True)


def _id_to_str(value: object) -> object:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class Actor(_Model):
    """Who caused the webhook: Sentry itself, a user, or an integration's API call."""

    type: str
    id: str | int
    name: str | None = None


class Installation(_Model):
    """The integration installation that the webhook belongs to."""

    uuid: str


class Project(_Model):
    """The Sentry project an issue belongs to."""

    id: str
    name: str | None = None
    slug: str
    platform: str | None = None

    _id = field_validator("id", mode="before")(_id_to_str)


class Issue(_Model):
    """`data.issue` of an `issue` webhook."""

    id: str
    title: str
    culprit: str | None = None
    level: str | None = None
    status: str | None = None
    short_id: str | None = Field(default=None, alias="shortId")
    project: Project
    metadata: dict[str, Any] = Field(default_factory=dict)
    count: str | None = None
    user_count: int | None = Field(default=None, alias="userCount")
    first_release: dict[str, Any] | None = Field(default=None, alias="firstRelease")
    last_release: dict[str, Any] | None = Field(default=None, alias="lastRelease")
    platform: str | None = None
    type: str | None = None
    """The issue's event type in older bodies (`error`, `default`, `generic`) or its group
    type's slug (`performance_n_plus_one_db_queries`)."""
    issue_type: str | None = Field(default=None, alias="issueType")
    issue_category: str | None = Field(default=None, alias="issueCategory")
    substatus: str | None = None
    priority: str | None = None
    is_unhandled: bool | None = Field(default=None, alias="isUnhandled")
    first_seen: str | None = Field(default=None, alias="firstSeen")
    last_seen: str | None = Field(default=None, alias="lastSeen")
    web_url: str | None = None

    _id = field_validator("id", "count", mode="before")(_id_to_str)


class ExceptionValue(_Model):
    """One exception of an event's chain."""

    type: str | None = None
    value: str | None = None
    mechanism: dict[str, Any] | None = None
    """How it was caught; `handled: false` for a crash."""


class ExceptionInterface(_Model):
    """An event's `exception` interface."""

    values: list[ExceptionValue] = Field(default_factory=list)


class Event(_Model):
    """An event, as sent in `event_alert` (`data.event`) and `error` (`data.error`) webhooks."""

    event_id: str
    issue_id: str | None = None
    title: str = ""
    level: str | None = None
    culprit: str | None = None
    environment: str | None = None
    release: str | dict[str, Any] | None = None
    """A version string in webhooks (an object with `version` in REST answers)."""
    project: int | str | None = None
    """The project's numeric id (webhooks never carry its slug)."""
    platform: str | None = None
    type: str | None = None
    """The event's type: `error`, `default`, `transaction`, `generic`..."""
    tags: list[tuple[str, str | None]] = Field(default_factory=list)
    exception: ExceptionInterface | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    occurrence: dict[str, Any] | None = None
    """What the issue platform detected (performance, cron, uptime, metric issues): `type`
    (the group type's number), `issueTitle`, `evidenceDisplay`, `evidenceData`, `priority`."""
    web_url: str | None = None
    issue_url: str | None = None

    _id = field_validator("issue_id", mode="before")(_id_to_str)

    @field_validator("tags", mode="before")
    @classmethod
    def _tag_pairs(cls, value: Any) -> Any:
        # Webhooks send [key, value] pairs; REST answers send {key, value} objects.
        if isinstance(value, list):
            return [
                (t.get("key"), t.get("value")) if isinstance(t, dict) and "key" in t else t for t in value
            ]
        return value

    @property
    def release_version(self) -> str:
        """The release's version, whichever shape it came in."""
        if isinstance(self.release, dict):
            return str(self.release.get("version") or "")
        return self.release or ""


class AlertRule(_Model):
    """The metric alert rule that changed state."""

    id: str
    name: str
    query: str | None = None
    aggregate: str | None = None
    environment: str | None = None

    _id = field_validator("id", mode="before")(_id_to_str)


class MetricAlert(_Model):
    """`data.metric_alert` of a `metric_alert` webhook."""

    id: str
    title: str | None = None
    alert_rule: AlertRule
    projects: list[str] = Field(default_factory=list)

    _id = field_validator("id", mode="before")(_id_to_str)


class IssueData(_Model):
    """`data` of an `issue` webhook."""

    issue: Issue


class EventAlertData(_Model):
    """`data` of an `event_alert` webhook."""

    event: Event
    triggered_rule: str | None = None


class ErrorData(_Model):
    """`data` of an `error` webhook."""

    error: Event


class MetricAlertData(_Model):
    """`data` of a `metric_alert` webhook."""

    metric_alert: MetricAlert
    description_title: str | None = None
    description_text: str | None = None
    web_url: str | None = None


class Webhook(_Model):
    """The envelope common to every resource: action, installation, actor, data."""

    action: str
    installation: Installation | None = None
    actor: Actor | None = None
    data: Any
    _raw_data: Any = PrivateAttr(default=None)
    """`data` exactly as received, for templates (no re-serialisation on the hot path)."""


class IssueWebhook(Webhook):
    """`Sentry-Hook-Resource: issue`."""

    data: IssueData


class EventAlertWebhook(Webhook):
    """`Sentry-Hook-Resource: event_alert`."""

    data: EventAlertData


class ErrorWebhook(Webhook):
    """`Sentry-Hook-Resource: error`."""

    data: ErrorData


class MetricAlertWebhook(Webhook):
    """`Sentry-Hook-Resource: metric_alert`."""

    data: MetricAlertData


class SeerData(_Model):
    """`data` of a `seer` webhook: the run and its issue, and what the stage produced
    (root_cause, solution, changes, pull_requests)."""

    run_id: int | str
    group_id: int | str


class SeerWebhook(Webhook):
    """`Sentry-Hook-Resource: seer` (Seer Autofix's progress)."""

    data: SeerData


def parse_seer(document: Any) -> SeerWebhook:
    """Validate a `seer` webhook body (its data kept whole for the job's record)."""
    try:
        hook = SeerWebhook.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(body)"
        raise PayloadError(f"body does not fit a Sentry 'seer' webhook: {where}: {first['msg']}") from None
    hook._raw_data = document["data"]
    return hook


MODELS: dict[str, type[Webhook]] = {
    "issue": IssueWebhook,
    "event_alert": EventAlertWebhook,
    "error": ErrorWebhook,
    "metric_alert": MetricAlertWebhook,
}
"""The resources rules can act on, with the model each body must fit."""


def decode_json(body: bytes) -> Any:
    """Parse a webhook body, turning every failure into a PayloadError."""
    try:
        return json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise PayloadError(f"body is not valid JSON: {exc}") from None
    except RecursionError:
        raise PayloadError("body is nested too deeply") from None


def parse_webhook(resource: str, document: Any) -> Webhook:
    """Validate a decoded body against its resource's model."""
    model = MODELS[resource]
    try:
        hook = model.model_validate(document)
        hook._raw_data = document["data"]
        return hook
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(body)'}: {err['msg']}" for err in exc.errors()[:5]
        )
        raise PayloadError(f"body does not fit a Sentry '{resource}' webhook: {problems}") from None
    except RecursionError:
        raise PayloadError("body is nested too deeply") from None
