"""How Sentry shows an event and its issue, for the stand-in: one stored event (built by
`sentry_events`) rendered the three ways Sentry renders it, and the issue it makes.

- `rest_event`: the REST API's event (`…/issues/{id}/events/latest/`, `…/events/{id}/`):
  `entries` (exception with camelCase frames and `[line, text]` context, breadcrumbs,
  request, spans), tags as `{key, value}`, `release` as an object or null, the environment
  only as a tag, the `occurrence` of issue-platform events. Shapes: getsentry/sentry's
  `EventSerializer` (`src/sentry/api/serializers/models/event.py`) and the examples in
  `tests/payloads/real/rest/`.
- `webhook_event`: `event.as_dict()` plus urls, issue id and occurrence, as `event_alert`
  and `error` webhooks carry it (`src/sentry/sentry_apps/tasks/sentry_apps.py`,
  `_webhook_event_data`): snake_case frames, tags as pairs, the project's numeric id.
- `webhook_issue`: the issue serializer's base fields, as `issue` webhooks carry them (no
  environment, no tags, no stats); `new_issue` is the issue details endpoint's answer.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from remediator.payloads import issue_types
from remediator.testing.sentry_events import iso

ISSUE_DETAIL_ONLY = (
    "activity",
    "seenBy",
    "stats",
    "tags",
    "participants",
    "pluginActions",
    "pluginIssues",
    "pluginContexts",
    "userReportCount",
    "openPeriods",
    "seerFixabilityScore",
    "seerAutofixLastTriggered",
    "seerExplorerAutofixLastTriggered",
)
"""Keys the issue details endpoint adds to the serializer's base fields (not in webhooks)."""

LEVEL_PRIORITY = {"fatal": 75, "error": 75, "warning": 50, "info": 25, "debug": 25}
"""An error issue's initial priority by its level (unhandled errors are high too)."""


# -- the issue an event makes ---------------------------------------------------------------
def issue_fields(event: dict[str, Any]) -> dict[str, Any]:
    """What an issue takes from its first event: title, culprit, level, metadata, platform,
    type, category, priority (issue-platform events: from their occurrence)."""
    found = event.get("occurrence")
    if found:
        slug, category = issue_types.GROUP_TYPES.get(found["type"], ("generic", ""))
        return {
            "title": found["issueTitle"],
            "culprit": found.get("culprit") or "",
            "level": found.get("level") or "error",
            "platform": event.get("platform") or "other",
            "type": slug if category == "performance" else "generic",
            "issueType": slug,
            "issueCategory": category,
            "priority": issue_types.priority_name(found.get("priority")) or "medium",
            "isUnhandled": False,
            "metadata": {
                "title": found["issueTitle"],
                "value": found.get("subtitle"),
                "initial_priority": found.get("priority"),
            },
        }
    metadata = dict(event.get("metadata") or {})
    unhandled = dict(event.get("tags") or []).get("handled") == "no"
    level = event.get("level") or "error"
    return {
        "title": event.get("title") or "<unlabeled event>",
        "culprit": event.get("culprit") or "",
        "level": level,
        "platform": event.get("platform") or "other",
        "type": "error" if event.get("exception") else "default",
        "issueType": "error",
        "issueCategory": "error",
        "priority": issue_types.priority_name(75 if unhandled else LEVEL_PRIORITY.get(level, 50)),
        "isUnhandled": unhandled,
        "metadata": metadata,
    }


def new_issue(
    issue_id: str, event: dict[str, Any], project: dict[str, Any], base_url: str, org: str, **fields: Any
) -> dict[str, Any]:
    """The REST API's issue (details) for a new issue whose first event is `event`."""
    seen = iso(event.get("timestamp") or time.time())
    issue = {
        "id": issue_id,
        "shareId": None,
        "shortId": f"{str(project.get('slug', 'proj')).upper()}-{issue_id}",
        "permalink": f"{base_url}/organizations/{org}/issues/{issue_id}/",
        "logger": None,
        "status": "unresolved",
        "statusDetails": {},
        "substatus": "new",
        "isPublic": False,
        "project": project,
        "numComments": 0,
        "assignedTo": None,
        "isBookmarked": False,
        "isSubscribed": False,
        "subscriptionDetails": None,
        "hasSeen": False,
        "annotations": [],
        "priorityLockedAt": None,
        "count": "0",
        "userCount": 0,
        "firstSeen": seen,
        "lastSeen": seen,
        "firstRelease": _release_summary(event.get("release"), seen),
        "lastRelease": None,
        "activity": [{"data": {}, "dateCreated": seen, "id": "0", "type": "first_seen", "user": None}],
        "seenBy": [],
        "pluginActions": [],
        "pluginIssues": [],
        "pluginContexts": [],
        "userReportCount": 0,
        "participants": [],
        "openPeriods": [],
        "seerFixabilityScore": None,
        "seerAutofixLastTriggered": None,
        "seerExplorerAutofixLastTriggered": None,
        **issue_fields(event),
    }
    issue.update(fields)
    return issue


def _release_summary(version: str | None, created: str) -> dict[str, Any] | None:
    if not version:
        return None
    return {
        "version": version,
        "shortVersion": version[:12] if len(version) == 40 else version,
        "dateCreated": created,
        "dateReleased": None,
        "ref": None,
        "url": None,
    }


def webhook_issue(issue: dict[str, Any]) -> dict[str, Any]:
    """`data.issue` of an `issue` webhook: the serializer's base fields only."""
    return {k: v for k, v in issue.items() if k not in ISSUE_DETAIL_ONLY and not k.startswith("_")}


# -- one stored event, rendered ----------------------------------------------------------------
def _rest_frame(raw: dict[str, Any]) -> dict[str, Any]:
    line = raw.get("lineno")
    pre, post = raw.get("pre_context") or [], raw.get("post_context") or []
    context: list[list[Any]] = []
    if isinstance(line, int) and raw.get("context_line") is not None:
        context = [[line - len(pre) + i, text] for i, text in enumerate(pre)]
        context.append([line, raw["context_line"]])
        context += [[line + 1 + i, text] for i, text in enumerate(post)]
    return {
        "filename": raw.get("filename"),
        "absPath": raw.get("abs_path"),
        "module": raw.get("module"),
        "package": raw.get("package"),
        "platform": raw.get("platform"),
        "instructionAddr": None,
        "symbolAddr": None,
        "function": raw.get("function"),
        "rawFunction": None,
        "symbol": None,
        "context": context,
        "lineNo": line,
        "colNo": raw.get("colno"),
        "inApp": bool(raw.get("in_app")),
        "trust": None,
        "errors": None,
        "lock": None,
        "sourceLink": None,
        "vars": raw.get("vars"),
    }


def _rest_exception(raw: dict[str, Any]) -> dict[str, Any]:
    stack = raw.get("stacktrace")
    frames = [_rest_frame(f) for f in (stack or {}).get("frames") or []]
    return {
        "type": raw.get("type"),
        "value": raw.get("value"),
        "mechanism": raw.get("mechanism"),
        "threadId": None,
        "module": raw.get("module"),
        "stacktrace": None
        if stack is None
        else {
            "frames": frames,
            "framesOmitted": None,
            "registers": None,
            "hasSystemFrames": any(not f["inApp"] for f in frames) and any(f["inApp"] for f in frames),
        },
        "rawStacktrace": None,
    }


def _rest_request(raw: dict[str, Any]) -> dict[str, Any]:
    return {
        "url": raw.get("url"),
        "method": raw.get("method"),
        "query": raw.get("query_string") or [],
        "fragment": raw.get("fragment"),
        "data": raw.get("data"),
        "headers": raw.get("headers") or [],
        "cookies": raw.get("cookies") or [],
        "env": raw.get("env"),
        "inferredContentType": raw.get("inferred_content_type"),
        "apiTarget": None,
    }


def rest_event(
    event: dict[str, Any],
    issue_id: str,
    project_id: str,
    release: dict[str, Any] | None = None,
    previous: str | None = None,
    following: str | None = None,
) -> dict[str, Any]:
    """The REST API's event (`release`: the release object Sentry knows, if any)."""
    entries: list[dict[str, Any]] = []
    if event.get("exception"):
        entries.append(
            {
                "type": "exception",
                "data": {
                    "values": [_rest_exception(v) for v in event["exception"].get("values") or []],
                    "excOmitted": None,
                    "hasSystemFrames": True,
                },
            }
        )
    if event.get("spans"):
        entries.append({"type": "spans", "data": event["spans"]})
    if event.get("breadcrumbs"):
        entries.append(
            {
                "type": "breadcrumbs",
                "data": {
                    "values": [
                        {
                            **c,
                            "timestamp": iso(c["timestamp"]) if c.get("timestamp") else None,
                        }
                        for c in event["breadcrumbs"].get("values") or []
                    ]
                },
            }
        )
    if event.get("request"):
        entries.append({"type": "request", "data": _rest_request(event["request"])})
    version = event.get("release")
    if version and release is None:
        release = {
            "version": version,
            "shortVersion": version,
            "dateCreated": iso(event["timestamp"]),
            "dateReleased": None,
            "url": None,
            "ref": None,
            "data": {},
            "lastDeploy": None,
            "lastCommit": None,
            "commitCount": 0,
            "deployCount": 0,
            "authors": [],
            "projects": [],
            "newGroups": 0,
            "status": "open",
        }
    found = {
        "id": event["event_id"],
        "groupID": issue_id,
        "eventID": event["event_id"],
        "projectID": project_id,
        "size": 1000 + 100 * len(entries),
        "entries": entries,
        "dist": event.get("dist"),
        "message": event.get("message") or "",
        "title": event.get("title") or "",
        "location": event.get("culprit")
        if event.get("type") == "transaction"
        else (event.get("metadata") or {}).get("filename"),
        "user": event.get("user"),
        "contexts": event.get("contexts") or {},
        "sdk": event.get("sdk"),
        "context": event.get("extra") or {},
        "packages": {},
        "type": event.get("type") or "default",
        "metadata": event.get("metadata") or {},
        "tags": [{"key": k, "value": v} for k, v in event.get("tags") or []],
        "platform": event.get("platform"),
        "dateReceived": iso(event.get("received") or event["timestamp"]),
        "dateCreated": iso(event["timestamp"]),
        "errors": [],
        "occurrence": event.get("occurrence"),
        "_meta": {
            "entries": {},
            "message": None,
            "user": None,
            "contexts": None,
            "sdk": None,
            "context": None,
            "packages": None,
            "tags": {},
        },
        "crashFile": None,
        "culprit": event.get("culprit") or "",
        "fingerprints": [uuid.uuid5(uuid.NAMESPACE_OID, str(event.get("fingerprint"))).hex],
        "groupingConfig": {
            "id": "newstyle:2023-01-11",
            "enhancements": "KLUv_SAYwQAAkwKRs25ld3N0eWxlOjIwMjMtMDEtMTGQ",
        },
        "release": release,
        "userReport": None,
        "sdkUpdates": [],
        "resolvedWith": [],
        "nextEventID": following,
        "previousEventID": previous,
    }
    if event.get("type") == "transaction":
        found["datetime"] = iso(event["timestamp"])
    return found


def simple_event(event: dict[str, Any], issue_id: str, project_id: str) -> dict[str, Any]:
    """An event as the issue's event list shows it (Sentry's SimpleEventSerializer)."""
    return {
        "id": event["event_id"],
        "event.type": event.get("type") or "default",
        "groupID": issue_id,
        "eventID": event["event_id"],
        "projectID": project_id,
        "message": event.get("message") or event.get("title") or "",
        "title": event.get("title") or "",
        "location": (event.get("metadata") or {}).get("filename"),
        "culprit": event.get("culprit") or "",
        "user": event.get("user"),
        "tags": [{"key": k, "value": v} for k, v in event.get("tags") or []],
        "platform": event.get("platform"),
        "dateCreated": iso(event["timestamp"]),
        "crashFile": None,
        "metadata": event.get("metadata") or {},
    }


def webhook_event(
    event: dict[str, Any], issue_id: str, project_id: int, base_url: str, org: str, project_slug: str
) -> dict[str, Any]:
    """`data.event` of an `event_alert` (`data.error` of an `error`) webhook."""
    data = {k: v for k, v in event.items() if k not in ("occurrence",) and not k.startswith("_")}
    found = {
        **data,
        "project": project_id,
        "datetime": iso(event["timestamp"]).replace(".000000Z", "Z"),
        "_ref": project_id,
        "_ref_version": 2,
        "tags": [list(t) for t in event.get("tags") or []],
        "location": (event.get("metadata") or {}).get("filename"),
        "url": f"{base_url}/api/0/projects/{org}/{project_slug}/events/{event['event_id']}/",
        "web_url": f"{base_url}/organizations/{org}/issues/{issue_id}/events/{event['event_id']}/",
        "issue_url": f"{base_url}/api/0/issues/{issue_id}/",
        "issue_id": str(issue_id),
    }
    if event.get("occurrence"):
        found["occurrence"] = event["occurrence"]
    return found
