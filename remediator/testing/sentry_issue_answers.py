"""The stand-in's answers about issues, in Sentry's REST shapes: an issue's details, its
events (latest, one, the list), its tag values, its activity, the organization's issue list
and the organization itself. A mixin of SentryStandIn, which holds the state and the lock;
its changes to issues (status, comments) are IssueChanges'."""

from __future__ import annotations

import re
import threading
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from remediator.testing import sentry_events as sdk_events
from remediator.testing import sentry_shapes as shapes
from remediator.testing.sentry_releases import SentryReleases

iso = sdk_events.iso


class IssueAnswers:
    """Reads the stand-in's issues and events the way Sentry's REST API renders them."""

    _lock: threading.Lock
    org: str
    issues: dict[str, dict[str, Any]]
    events: dict[str, list[dict[str, Any]]]
    comments: dict[str, list[dict[str, Any]]]
    activity: dict[str, list[dict[str, Any]]]
    releases: SentryReleases

    if TYPE_CHECKING:  # provided by SentryStandIn and IssueChanges

        @property
        def url(self) -> str: ...

        def _update(self, issue: dict[str, Any], body: dict[str, Any]) -> tuple[int, dict[str, str], Any]: ...

        def _comment(self, issue_id: str, body: dict[str, Any]) -> tuple[int, dict[str, str], Any]: ...

        def _activities(self, issue: dict[str, Any]) -> list[dict[str, Any]]: ...

    def _issue_answer(
        self, method: str, issue_id: str, rest: str, query: dict[str, str], document: Any
    ) -> tuple[int, dict[str, str], Any]:
        """`…/issues/{id}/` and what lies under it."""
        with self._lock:
            issue = self.issues.get(issue_id)
            if issue is None:
                return 404, {}, {"detail": "The requested resource does not exist"}
            if rest == "" and method == "GET":
                return 200, {}, self._rest_issue(issue)
            if rest == "" and method == "PUT":
                return self._update(issue, document or {})
            if rest == "comments/" and method == "POST":
                return self._comment(issue_id, document or {})
            if rest == "activities/" and method == "GET":
                return 200, {}, {"activity": self._activities(issue)}
            if method != "GET":
                return 405, {}, {"detail": f'Method "{method}" not allowed.'}
            events = self.events[issue_id]
            if rest == "events/latest/" and events:
                return 200, {}, self._rest_event(issue, len(events) - 1)
            if rest == "events/":
                since = parse_time(query["start"]) if query.get("start") else float("-inf")
                found = [e for e in reversed(events) if e["_ts"] >= since][:100]
                return 200, {}, [self._simple_event(issue, e) for e in found]
            one = re.fullmatch(r"events/([0-9a-f]+)/", rest)
            if one:
                at = next((n for n, e in enumerate(events) if e["event_id"] == one[1]), None)
                if at is not None:
                    return 200, {}, self._rest_event(issue, at)
            tag = re.fullmatch(r"tags/([^/]+)/", rest)
            if tag:
                return 200, {}, tag_values(tag[1], events)
        return 404, {}, {"detail": "The requested resource does not exist"}

    def _rest_issue(self, issue: dict[str, Any]) -> dict[str, Any]:
        """The issue details endpoint's answer (a recorded one exactly as recorded)."""
        if issue.get("_recorded"):
            return public(issue)
        events = self.events.get(issue["id"], [])
        keys = sorted({k for e in events for k, _ in e.get("tags") or []})
        tags = [
            {
                "key": k,
                "name": k.replace(".", " ").title(),
                "totalValues": sum(1 for e in events if k in dict(e.get("tags") or [])),
            }
            for k in keys
        ]
        return {**public(issue), "tags": tags, "stats": {"24h": hourly(events)}}

    def _rest_event(self, issue: dict[str, Any], at: int) -> dict[str, Any]:
        events = self.events[issue["id"]]
        event = events[at]
        if "_recorded" in event:
            return dict(event["_recorded"])
        version = event.get("release")
        release = self.releases.rest_release(version) if version else None
        return shapes.rest_event(
            event,
            issue["id"],
            str(issue["project"]["id"]),
            release=release,
            previous=events[at - 1]["event_id"] if at > 0 else None,
            following=events[at + 1]["event_id"] if at + 1 < len(events) else None,
        )

    def _simple_event(self, issue: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
        if "_recorded" in event:
            recorded = event["_recorded"]
            keep = (
                "id",
                "groupID",
                "eventID",
                "projectID",
                "message",
                "title",
                "location",
                "culprit",
                "user",
                "tags",
                "platform",
                "dateCreated",
                "crashFile",
                "metadata",
            )
            return {"event.type": recorded.get("type"), **{k: recorded.get(k) for k in keep}}
        return shapes.simple_event(event, issue["id"], str(issue["project"]["id"]))

    def _list_issues(self, path: str, query: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        """Sentry's issue list: seen within `statsPeriod`, `query` "" (all) or the default
        "is:unresolved", newest last-seen first, `limit` up to 100, `Link` cursors."""
        period = re.fullmatch(r"(\d+)([smhdw])", query.get("statsPeriod", "14d"))
        if period is None:
            return 400, {}, {"detail": "Invalid stats_period. Valid choices are '', '24h', and '14d'"}
        since = (
            time.time() - int(period[1]) * {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[period[2]]
        )
        limit = min(100, int(query.get("limit", "100")))
        offset = int(query.get("cursor", "0:0:0").split(":")[1])
        wanted = query.get("query", "is:unresolved").strip()
        with self._lock:
            found = [
                i
                for i in self.issues.values()
                if parse_time(i["lastSeen"]) >= since
                and (wanted != "is:unresolved" or i["status"] == "unresolved")
            ]
        found.sort(key=lambda i: (parse_time(i["lastSeen"]), i["id"]), reverse=True)
        page = found[offset : offset + limit]
        url = f"{self.url}{path}"
        more = offset + limit < len(found)
        back, ahead = f"0:{max(0, offset - limit)}:1", f"0:{offset + limit}:0"
        link = (
            f'<{url}?cursor={back}>; rel="previous"; results="{str(offset > 0).lower()}"; cursor="{back}", '
            f'<{url}?cursor={ahead}>; rel="next"; results="{str(more).lower()}"; cursor="{ahead}"'
        )
        return 200, {"Link": link}, page

    def _organization(self) -> dict[str, Any]:
        """`GET /organizations/{org}/`: the organization (the base fields of Sentry's
        OrganizationSerializer)."""
        return {
            "id": "1",
            "slug": self.org,
            "status": {"id": "active", "name": "active"},
            "name": self.org,
            "dateCreated": iso(0),
            "isEarlyAdopter": False,
            "require2FA": False,
            "avatar": {"avatarType": "letter_avatar", "avatarUuid": None},
            "links": {"organizationUrl": f"{self.url}/organizations/{self.org}/", "regionUrl": self.url},
            "hasAuthProvider": False,
            "features": [],
        }


def hourly(events: list[dict[str, Any]]) -> list[list[int]]:
    """Sentry's `stats["24h"]`: [hour start, events in that hour] for the last 24 hours,
    oldest first, the current hour last."""
    hour = int(time.time()) // 3600 * 3600
    starts = [hour - 3600 * n for n in range(23, -1, -1)]
    return [[start, sum(1 for e in events if start <= e["_ts"] < start + 3600)] for start in starts]


def tag_values(key: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    """`GET …/issues/{id}/tags/{key}/`: the key's values over the issue's events, most
    seen first (Sentry's TagKeySerializer with topValues)."""
    seen: dict[str, list[float]] = {}
    for event in events:
        if "_recorded" in event:
            pairs = [(t["key"], t["value"]) for t in event["_recorded"].get("tags") or []]
        else:
            pairs = list(event.get("tags") or [])
        for k, v in pairs:
            if k == key:
                seen.setdefault(str(v), []).append(event["_ts"])
    top = sorted(seen.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return {
        "key": key,
        "name": key.replace(".", " ").title(),
        "uniqueValues": len(seen),
        "totalValues": sum(len(v) for v in seen.values()),
        "topValues": [
            {
                "key": key,
                "name": v,
                "value": v,
                "count": len(at),
                "firstSeen": iso(min(at)),
                "lastSeen": iso(max(at)),
            }
            for v, at in top[:9]
        ],
    }


def public(record: dict[str, Any]) -> dict[str, Any]:
    """A stored record without the stand-in's own bookkeeping (keys starting with `_`)."""
    return {k: v for k, v in record.items() if not k.startswith("_")}


def parse_time(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
