"""What a backtest replays: Sentry's issues of a period, or a directory of saved webhooks,
each as the delivery it sent (or would have sent), in time order."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from remediator.errors import ConfigurationError
from remediator.sentry.api import SentryApi, parse_time

SENTRY_ACTOR = {"type": "application", "id": "sentry", "name": "Sentry"}
"""Who Sentry's own deliveries come from."""


@dataclass(frozen=True)
class Delivery:
    """One webhook of the history: when it arrived (or would have), its resource and body."""

    at: float
    resource: str
    body: dict[str, Any]
    source: str
    """Where it came from: the issue's id in Sentry, or the file."""

    @property
    def issue(self) -> dict[str, Any]:
        """The issue (or event) the delivery is about, for the report."""
        data = self.body.get("data") or {}
        found = data.get("issue") or data.get("event") or data.get("error") or {}
        return found if isinstance(found, dict) else {}

    @property
    def events(self) -> int:
        """How many events the issue had (0 when the payload does not say)."""
        try:
            return int(self.issue.get("count") or 0)
        except (TypeError, ValueError):
            return 0

    @property
    def title(self) -> str:
        return str(self.issue.get("title") or self.source)


def issue_delivery(issue: dict[str, Any]) -> Delivery:
    """The `issue.created` webhook an issue from Sentry's API sent when it was first seen
    (the API's issue and the webhook's `data.issue` have the same shape)."""
    first_seen = issue.get("firstSeen") or issue.get("lastSeen")
    if not first_seen:
        raise ConfigurationError(f"issue {issue.get('id')}: no firstSeen in Sentry's answer")
    body = {"action": "created", "actor": SENTRY_ACTOR, "data": {"issue": issue}}
    return Delivery(at=parse_time(first_seen), resource="issue", body=body, source=f"issue {issue.get('id')}")


def from_sentry(
    api: SentryApi,
    stats_period: str,
    projects: list[str],
    progress: Callable[[int, int], None] | None = None,
) -> list[Delivery]:
    """Every issue of the organization seen in the period (resolved ones too), optionally of
    some projects (by slug or id), oldest first. progress(pages, issues) after each page."""
    wanted = set(projects)
    out: list[Delivery] = []
    pages = 0
    for page in api.issue_pages(stats_period):
        pages += 1
        for issue in page:
            project = issue.get("project") or {}
            if wanted and not wanted & {str(project.get("slug")), str(project.get("id"))}:
                continue
            out.append(issue_delivery(issue))
        if progress is not None:
            progress(pages, len(out))
    return sorted(out, key=lambda d: d.at)


def resource_of(body: Any) -> str:
    """The resource a saved webhook body was sent as, told from its `data`."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise ConfigurationError("no 'data' object: not a Sentry webhook body")
    for key, resource in (
        ("comment", "comment"),
        ("installation", "installation"),
        ("issue", "issue"),
        ("metric_alert", "metric_alert"),
        ("error", "error"),
        ("event", "event_alert"),
    ):
        if key in data:
            return resource
    if {"run_id", "group_id"} <= set(data):
        return "seer"
    if len(data) == 1:
        # A resource remediator does not act on (`preprod_artifact`, ...): its one key names it.
        return str(next(iter(data)))
    raise ConfigurationError(f"cannot tell the resource from data keys {sorted(data)}")


def _time_of(body: dict[str, Any], fallback: float) -> float:
    data = body.get("data") or {}
    candidates = [
        (data.get("issue") or {}).get("firstSeen"),
        (data.get("event") or {}).get("datetime"),
        (data.get("error") or {}).get("datetime"),
        (data.get("metric_alert") or {}).get("date_started"),
        (data.get("metric_alert") or {}).get("date_detected"),
    ]
    for value in candidates:
        if isinstance(value, str) and value:
            try:
                return parse_time(value)
            except ValueError:
                continue
    timestamp = (data.get("event") or {}).get("timestamp")
    return float(timestamp) if isinstance(timestamp, int | float) else fallback


ACTED_ON = ("issue", "event_alert", "error", "metric_alert")
"""Resources rules match; every other one a saved directory holds (comment, installation,
seer, preprod_artifact, ...) is skipped and counted."""


def from_directory(path: Path, skipped: list[str] | None = None) -> list[Delivery]:
    """Saved webhook bodies (`*.json`, one delivery each, any depth), oldest first. The
    resource is told from the body (`data.issue`, `data.event`, ...), the time from the
    payload (first seen, the event's time, the incident's start), else the file's mtime.
    Resources no rule acts on are skipped (`<file> (<resource>)` appended to `skipped`)."""
    if not path.is_dir():
        raise ConfigurationError(f"{path}: not a directory of saved webhooks")
    out = []
    for file in sorted(path.rglob("*.json")):
        try:
            body = json.loads(file.read_text())
            if not isinstance(body, dict):
                raise ConfigurationError("not a JSON object")
            resource = resource_of(body)
        except (ValueError, ConfigurationError) as exc:
            raise ConfigurationError(f"{file}: {exc}") from None
        if resource not in ACTED_ON:
            if skipped is not None:
                skipped.append(f"{file.relative_to(path)} ({resource})")
            continue
        out.append(
            Delivery(_time_of(body, file.stat().st_mtime), resource, body, str(file.relative_to(path)))
        )
    return sorted(out, key=lambda d: d.at)


def in_window(deliveries: list[Delivery], since: float | None) -> Iterator[Delivery]:
    """Those at or after `since` (epoch seconds), all when None."""
    return (d for d in deliveries if since is None or d.at >= since)
