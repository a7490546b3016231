"""The stand-in's changes to issues, as Sentry makes them: a status set through the API
(`PUT …/issues/{id}/`) or by a person in its UI (`set_status`), each kept as Sentry's Activity
records it; a comment posted (`POST …/issues/{id}/comments/`, a repeat within an hour refused
as Sentry refuses it). A mixin of SentryStandIn, called under its lock."""

from __future__ import annotations

import threading
import time
from typing import Any

from remediator.testing.sentry_issue_answers import iso, parse_time, public

RESOLVE_STATUSES = {"resolved", "resolvedInNextRelease", "unresolved", "ignored"}
DUPLICATE_COMMENT_WINDOW = 3600.0


class IssueChanges:
    """Status changes and comments on the stand-in's issues."""

    _lock: threading.Lock
    issues: dict[str, dict[str, Any]]
    comments: dict[str, list[dict[str, Any]]]
    activity: dict[str, list[dict[str, Any]]]

    def _update(self, issue: dict[str, Any], body: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        status = body.get("status")
        if status not in RESOLVE_STATUSES:
            return 400, {}, {"status": [f'"{status}" is not a valid choice.']}
        if status == "resolvedInNextRelease":
            return 400, {}, {"detail": "Cannot resolve in next release without a release"}
        issue["status"] = status
        issue["statusDetails"] = body.get("statusDetails", {})
        self._note_status(issue["id"], status, time.time())
        return 200, {}, {"status": status, "statusDetails": issue["statusDetails"]}

    def set_status(self, issue_id: str, status: str, at: float | None = None) -> None:
        """Change an issue's status as a person in Sentry's UI would (no webhook), at `at`."""
        with self._lock:
            self.issues[issue_id]["status"] = status
            self._note_status(issue_id, status, time.time() if at is None else at)

    def _note_status(self, issue_id: str, status: str, at: float) -> None:
        kind = {"resolved": "set_resolved", "unresolved": "set_unresolved", "ignored": "set_ignored"}[status]
        entries = self.activity.setdefault(issue_id, [])
        entries.append({"id": f"{issue_id}-{len(entries) + 1}", "type": kind, "data": {}, "_ts": at})

    def _activities(self, issue: dict[str, Any]) -> list[dict[str, Any]]:
        """`GET …/issues/{id}/activities/`: the issue's activity newest first, its first
        sighting last, as Activity.objects.get_activities_for_group and ActivitySerializer
        give them (getsentry/sentry src/sentry/issues/endpoints/group_activities.py,
        src/sentry/api/serializers/models/activity.py)."""
        notes = [{**c, "type": "note"} for c in self.comments.get(issue["id"], [])]
        items = sorted([*self.activity.get(issue["id"], []), *notes], key=lambda a: -a["_ts"])
        first = {"id": "0", "type": "first_seen", "data": {}, "_ts": parse_time(issue["firstSeen"])}
        return [
            {
                "id": str(a["id"]),
                "user": None,
                "sentry_app": None,
                "type": a["type"],
                "data": a.get("data") or {},
                "dateCreated": iso(a["_ts"]),
            }
            for a in [*items, first]
        ]

    def _comment(self, issue_id: str, body: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        text = body.get("text")
        if not isinstance(text, str) or not text:
            return 400, {}, {"text": ["This field is required."]}
        now = time.time()
        if any(
            c["data"]["text"] == text and now - c["_ts"] < DUPLICATE_COMMENT_WINDOW
            for c in self.comments[issue_id]
        ):
            return 400, {}, {"detail": "You have already posted that comment."}
        note = {
            "id": str(sum(len(v) for v in self.comments.values()) + 1),
            "type": "note",
            "data": {"text": text},
            "dateCreated": iso(now),
            "_ts": now,
        }
        self.comments[issue_id].append(note)
        return 201, {}, public(note)
