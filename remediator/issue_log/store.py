"""The issue log in Redis: one hash per issue (the last word of its webhooks), its webhooks'
timeline, and an index ordered open first, then by the last webhook's time."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import redis

from remediator.issue_log.model import Issue, changes, timeline_entry
from remediator.jobs.keys import (
    EVENTS_SEQ_KEY,
    ISSUES_KEY,
    issue_record_key,
    issue_webhooks_key,
)
from remediator.payloads import Subject

_SEEN = (Path(__file__).parent / "seen.lua").read_text()

OPEN_BOOST = 10**10
"""Added to an open issue's index score (about 317 years), so open issues sort first."""

WEBHOOKS_KEPT = 200
"""Most webhooks an issue's timeline keeps (the newest)."""

FETCH = 200
"""Issues read per round trip while a filtered listing walks the index."""

SCAN_LIMIT = 5000
"""Most issues one page reads while looking for matches: a filter that matches few of them
answers within its bound and says where to search on."""

NO_JOB = "no job"
"""The outcome of an issue no rule acted on."""


@dataclass(frozen=True)
class Filters:
    """What a listing keeps; None keeps everything."""

    category: str | None = None
    project: str | None = None
    environment: str | None = None
    outcome: str | None = None
    """The status of the issue's newest job (`verified`, `failed`...), or NO_JOB."""
    open_only: bool = False

    def keeps(self, issue: Issue) -> bool:
        """Whether the issue passes every filter given."""
        wanted = (("category", self.category), ("project", self.project), ("environment", self.environment))
        if any(value and getattr(issue, name) != value for name, value in wanted):
            return False
        if self.outcome and (issue.outcome or NO_JOB) != self.outcome:
            return False
        return issue.is_open or not self.open_only


@dataclass(frozen=True)
class Listing:
    """One page of issues (each carries its newest job's status) and the next page's cursor."""

    issues: list[Issue]
    next_cursor: str | None
    searched: int = 0
    """How many issues the page read before it stopped short of a full page (0: it did not)."""


class IssueLog:
    """What remediator knows of each Sentry issue without asking Sentry."""

    def __init__(self, client: redis.Redis, retention_days: int = 30, app_id: str | None = None) -> None:
        self.client = client
        self.ttl = retention_days * 86400
        self.app_id = app_id
        """The integration's id: a webhook its own API call caused is remediator's doing."""
        self._seen = client.register_script(_SEEN)

    def seen(self, subject: Subject, at: float | None = None) -> None:
        """Note a verified webhook on its issue (none for a webhook without an issue)."""
        if not subject.issue_id:
            return
        at = time.time() if at is None else at
        own = bool(self.app_id) and subject.actor_type == "application" and subject.actor_id == self.app_id
        args: list[Any] = [
            subject.issue_id,
            at,
            self.ttl,
            json.dumps(timeline_entry(subject, own, at)),
            OPEN_BOOST,
            WEBHOOKS_KEPT,
        ]
        for name, value in changes(subject, own, at).items():
            args += [name, value]
        keys = [
            issue_record_key(subject.issue_id),
            issue_webhooks_key(subject.issue_id),
            ISSUES_KEY,
            EVENTS_SEQ_KEY,
        ]
        self._seen(keys=keys, args=args)

    def get(self, issue_id: str) -> Issue | None:
        """The issue as last heard of, or None."""
        fields = cast(dict[str, str], self.client.hgetall(issue_record_key(issue_id)))
        return Issue.from_fields(issue_id, fields) if fields else None

    def webhooks(self, issue_id: str) -> list[dict[str, Any]]:
        """The webhooks that spoke of the issue, oldest first (at, event, actor)."""
        raw = cast(list[str], self.client.lrange(issue_webhooks_key(issue_id), 0, -1))
        return [json.loads(entry) for entry in raw]

    def page(self, filters: Filters = Filters(), limit: int = 50, cursor: str | None = None) -> Listing:
        """One page of issues, open first, then the latest first; pass next_cursor for the
        next. Walks the index FETCH at a time, so an unfiltered page costs one batch."""
        max_score, after = _parse_cursor(cursor)
        found: list[Issue] = []
        scanned = 0
        while len(found) < limit:
            if scanned >= SCAN_LIMIT:
                # A rare filter stops here: the page says so and offers to search on.
                return Listing(found, f"{max_score}:{after}", scanned)
            entries = cast(
                list[tuple[str, float]],
                self.client.zrevrangebyscore(
                    ISSUES_KEY, max_score, "-inf", start=0, num=FETCH + 1, withscores=True
                ),
            )
            if after is not None:
                entries = [(i, s) for i, s in entries if not (repr(s) == max_score and i >= after)]
            if not entries:
                return Listing(found, None)
            batch = self._read([issue_id for issue_id, _ in entries])
            scanned += len(entries)
            for issue_id, score in entries:
                max_score, after = repr(score), issue_id
                issue = batch.get(issue_id)
                if issue is None or not filters.keeps(issue):
                    continue
                found.append(issue)
                if len(found) == limit:
                    return Listing(found, f"{max_score}:{after}")
        return Listing(found, f"{max_score}:{after}")

    def _read(self, issue_ids: list[str]) -> dict[str, Issue]:
        with self.client.pipeline(transaction=False) as pipe:
            for issue_id in issue_ids:
                pipe.hgetall(issue_record_key(issue_id))
            rows = cast(list[dict[str, str]], pipe.execute())
        return {i: Issue.from_fields(i, row) for i, row in zip(issue_ids, rows, strict=True) if row}


def _parse_cursor(cursor: str | None) -> tuple[str, str | None]:
    """A cursor is "<score>:<id>" of the last issue shown; none starts at the top."""
    if not cursor:
        return "+inf", None
    score, _, issue_id = cursor.partition(":")
    try:
        float(score)
    except ValueError:
        raise ValueError(f"invalid cursor {cursor!r}") from None
    return score, issue_id or None
