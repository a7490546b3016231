"""The job store: job records, their notes, indexes and per-rule counts, kept in Redis.

It stores; it decides nothing. Status changes go through `remediator.lifecycle.Lifecycle`,
which uses `transition` and `claim` here (compare-and-set Lua scripts that keep the
indexes in the same step) and emits the event of each change.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import redis

from remediator.jobs.keys import (
    EVENTS_SEQ_KEY,
    INDEX_KEY,
    TREND_RETENTION,
    active_key,
    hour_of,
    issue_key,
    issue_record_key,
    job_key,
    notes_key,
    rule_index,
    stats_key,
    status_index,
    tier_index,
    timeline_key,
    trend_key,
)
from remediator.jobs.model import OUTCOMES, Job, JobStatus

_LUA = Path(__file__).parent
_OUTCOME = (_LUA / "issue_outcome.lua").read_text()
_TRANSITION = _OUTCOME + (_LUA / "transition.lua").read_text()
_CLAIM = _OUTCOME + (_LUA / "claim.lua").read_text()
_CREATED_OUTCOME = _OUTCOME + (_LUA / "created_outcome.lua").read_text()
_APPROVE = (_LUA / "approve.lua").read_text()

Entries = list[tuple[str, float]]
"""Index entries: (job id, score) pairs."""

TRIM_CHANCE = 1 / 64
"""How often a new record also trims its status, tier and rule indexes (the global index is
trimmed every time)."""

PAGE_FETCH = 200
"""Ids fetched per round trip while a filtered listing walks an index."""


def redis_client(url: str, connect_timeout: float = 2.0, master_name: str | None = None) -> redis.Redis:
    """A client for the job store with short timeouts, so a dead Redis fails fast. With a
    `sentinel://` URL (kombu's form: `sentinel://h1:26379;sentinel://h2:26379/0`), a client
    of the current master of `master_name` (default: REMEDIATOR_SENTINEL_MASTER) that finds
    the new master by itself after a failover."""
    options: dict[str, Any] = {
        "decode_responses": True,
        "socket_connect_timeout": connect_timeout,
        "socket_timeout": 5,
        "health_check_interval": 30,
    }
    if not is_sentinel(url):
        return redis.Redis.from_url(url, **options)
    from redis.sentinel import Sentinel

    from remediator.settings import get_settings

    nodes, db, password = sentinel_nodes(url)
    sentinel = Sentinel(  # type: ignore[no-untyped-call, unused-ignore]
        nodes, sentinel_kwargs={"socket_connect_timeout": connect_timeout, "socket_timeout": connect_timeout}
    )
    master = master_name or get_settings().sentinel_master
    client: redis.Redis = sentinel.master_for(  # type: ignore[no-untyped-call, unused-ignore]
        master, db=db, password=password, **options
    )
    return client


def is_sentinel(url: str) -> bool:
    """Whether the broker URL names Sentinels rather than a Redis server."""
    return url.startswith("sentinel://")


def sentinel_nodes(url: str) -> tuple[list[tuple[str, int]], int, str | None]:
    """The Sentinels' addresses, the database and the master's password of a kombu-style
    `sentinel://[:password@]host:port[/db];sentinel://host:port[/db]` URL."""
    nodes, db, password = [], 0, None
    for part in url.split(";"):
        address = urlsplit(part.strip())
        if address.scheme != "sentinel" or not address.hostname:
            raise ValueError(f"not a Sentinel address: {part!r}")
        nodes.append((address.hostname, address.port or 26379))
        if address.path.strip("/"):
            db = int(address.path.strip("/"))
        password = password or address.password
    return nodes, db, password


def _decode(raw: dict[str, str], notes: list[str] | None = None, timeline: list[str] | None = None) -> Job:
    # Every field is stored JSON-encoded under its own (identifier) name, so the record is
    # one JSON object away: pydantic parses and validates it in one pass.
    members = [f'"{key}":{value}' for key, value in raw.items()]
    members.append(f'"notes":[{",".join(notes or ())}]')
    members.append(f'"timeline":[{",".join(timeline or ())}]')
    return Job.model_validate_json("{" + ",".join(members) + "}")


def _pairs(flat: list[str]) -> dict[str, str]:
    return dict(zip(flat[::2], flat[1::2], strict=True))


def _encode(fields: dict[str, Any]) -> dict[Any, Any]:
    return {k: json.dumps(v.value if isinstance(v, StrEnum) else v) for k, v in fields.items()}


Counts = dict[str, int]
"""Trend counters a change adds to, in the hourly bucket of its time (see remediator.trends)."""


def queue_counts(pipe: Any, counts: Counts, at: float) -> None:
    """Add trend counts to the bucket of `at`'s hour, in a pipeline the caller executes."""
    hour = hour_of(at)
    for name, n in counts.items():
        pipe.hincrby(trend_key(hour), name, n)
    pipe.expireat(trend_key(hour), hour + TREND_RETENTION)


def timeline_entry(event: str, actor: str | None, at: float | None = None) -> str:
    """One entry of a job's timeline, as stored."""
    return json.dumps({"event": event, "at": time.time() if at is None else at, "actor": actor})


@dataclass(frozen=True)
class Page:
    """One page of a listing: the jobs, and the cursor of the next page (None: the end)."""

    jobs: list[Job]
    next_cursor: str | None


NO_RECORD = "no record"
"""What `JobStore.claim` answers for a job whose record is gone (expired, never stored)."""


class JobStore:
    """Job records as Redis hashes (one field per attribute, so updates never race)."""

    def __init__(self, client: redis.Redis, retention_days: int = 30) -> None:
        self.client = client
        self.ttl = retention_days * 86400
        self._transition = client.register_script(_TRANSITION)
        self._claim = client.register_script(_CLAIM)
        self._approve = client.register_script(_APPROVE)

    # -- records ---------------------------------------------------------------------

    def create(
        self, job: Job, event: str | None = None, actor: str | None = None, counts: Counts | None = None
    ) -> Job:
        """Store a new job record (and the first entry of its timeline, when given)."""
        with self.client.pipeline() as pipe:
            self.queue_create(pipe, job, event, actor, counts)
            pipe.execute()
        return job

    def queue_create(
        self,
        pipe: Any,
        job: Job,
        event: str | None = None,
        actor: str | None = None,
        counts: Counts | None = None,
    ) -> None:
        """Add the commands that store a new record, index it, start its timeline with
        `event` and add its trend counts to a pipeline (executed by the caller)."""
        fields = job.model_dump(mode="json", exclude={"notes", "timeline"})
        pipe.hset(job_key(job.id), mapping=_encode(fields))
        pipe.expire(job_key(job.id), self.ttl)
        horizon = time.time() - self.ttl
        indexes = (INDEX_KEY, status_index(job.status), tier_index(job.tier), rule_index(job.rule))
        for index in indexes:
            pipe.zadd(index, {job.id: job.created_at})
        # Entries past the retention go now and then (every create would cost the webhook
        # three more commands for entries that expire by the day).
        for index in indexes if random.random() < TRIM_CHANCE else indexes[:1]:
            pipe.zremrangebyscore(index, "-inf", horizon)
        if job.sentry_issue_id:
            pipe.sadd(issue_key(job.sentry_issue_id), job.id)
            pipe.expire(issue_key(job.sentry_issue_id), self.ttl)
            # EVAL, not a registered script: redis-py checks a pipeline's scripts with a
            # SCRIPT EXISTS round trip of its own before every execute.
            issue = issue_record_key(job.sentry_issue_id)
            pipe.eval(_CREATED_OUTCOME, 1, issue, job.status.value, job.created_at, job.id)
        if event is not None:
            pipe.rpush(timeline_key(job.id), timeline_entry(event, actor, job.created_at))
            pipe.expire(timeline_key(job.id), self.ttl)
            pipe.incr(EVENTS_SEQ_KEY)
        if counts:
            queue_counts(pipe, counts, job.created_at)

    def get(self, job_id: str) -> Job | None:
        """The job record with its timeline and notes, or None if there is none (or it has
        expired)."""
        with self.client.pipeline(transaction=False) as pipe:
            pipe.hgetall(job_key(job_id))
            pipe.lrange(notes_key(job_id), 0, -1)
            pipe.lrange(timeline_key(job_id), 0, -1)
            raw, notes, timeline = pipe.execute()
        return _decode(raw, notes, timeline) if raw else None

    def get_many(self, job_ids: list[str]) -> list[Job]:
        """The records (without notes and timeline) of the ids that still have one, in order."""
        with self.client.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                pipe.hgetall(job_key(job_id))
            rows = pipe.execute()
        return [_decode(raw) for raw in rows if raw]

    def transition(
        self,
        job: Job,
        old: JobStatus,
        new: JobStatus,
        count_outcome: bool = False,
        release_slot: bool = False,
        event: str | None = None,
        actor: str | None = None,
        replace_event: bool = False,
        counts: Counts | None = None,
        **fields: Any,
    ) -> Job | None:
        """Move a job from status old to new (setting fields and its status index) only if it
        is still old; optionally count the outcome for its rule, free its concurrency slot,
        add `event` to its timeline (or replace the last entry) and add trend counts to the
        hour's bucket, all in one step. Returns the record as it now is (without notes and
        timeline), or None if it was not old."""
        now = time.time()
        hour = hour_of(now)
        args: list[str | float] = [
            json.dumps(old.value),
            json.dumps(new.value),
            new.value if count_outcome and new.value in OUTCOMES else "",
            job.id,
            job.created_at,
            now - self.ttl,
            timeline_entry(event, actor, now) if event else "",
            "1" if replace_event else "0",
            json.dumps(counts) if counts else "",
            hour + TREND_RETENTION,
        ]
        for key, value in _encode(fields).items():
            args += [key, value]
        slot = active_key(job.rule, job.storm_key) if release_slot and job.storm_key is not None else ""
        keys = [
            job_key(job.id),
            status_index(old),
            status_index(new),
            stats_key(job.rule),
            slot,
            timeline_key(job.id),
            EVENTS_SEQ_KEY,
            trend_key(hour) if counts else "",
            issue_record_key(job.sentry_issue_id) if job.sentry_issue_id else "",
        ]
        raw = self._transition(keys=keys, args=args)
        return _decode(_pairs(raw)) if raw else None

    def claim(self, job_id: str, worker: str) -> Job | str:
        """Start an attempt if the job may run; returns the record with the attempt counted,
        or why it may not run (NO_RECORD, or its status: cancelled, finished...). One
        round trip: the record is not read first."""
        keys = [
            job_key(job_id),
            status_index(JobStatus.QUEUED),
            status_index(JobStatus.RUNNING),
            timeline_key(job_id),
            EVENTS_SEQ_KEY,
            issue_record_key("{issue}"),
        ]
        now = time.time()
        args: list[str | float] = [
            json.dumps(JobStatus.QUEUED.value),
            json.dumps(JobStatus.RUNNING.value),
            json.dumps(worker),
            json.dumps(now),
            job_id,
            worker,
            now,
        ]
        raw = [x.decode() if isinstance(x, bytes) else x for x in self._claim(keys=keys, args=args)]
        if len(raw) == 2 and raw[0] == "not-run":
            return json.loads(raw[1]) if raw[1] else NO_RECORD
        return _decode(_pairs(raw))

    def add_approval(self, job_id: str, by: str, of: int) -> tuple[bool, list[str]] | None:
        """One of several approvals of a waiting job, in one step: (whether `by` is new
        among its approvers, everyone who has approved so far); None when it no longer waits."""
        entry = timeline_entry("approval", by)
        entry = json.dumps(json.loads(entry) | {"of": of})
        keys = [job_key(job_id), timeline_key(job_id), EVENTS_SEQ_KEY]
        args = [json.dumps(JobStatus.AWAITING_APPROVAL.value), json.dumps(by), entry]
        raw = self._approve(keys=keys, args=args)
        if not raw:
            return None
        state, approvals = (x.decode() if isinstance(x, bytes) else x for x in raw)
        return state == "added", json.loads(approvals)

    def add_note(self, job_id: str, kind: str, **detail: Any) -> None:
        """Append a note (a listener's attempt, an approval, a cancellation...) to the job."""
        note = json.dumps({"kind": kind, "at": time.time(), **detail})
        with self.client.pipeline() as pipe:
            pipe.rpush(notes_key(job_id), note)
            pipe.expire(notes_key(job_id), self.ttl)
            pipe.execute()

    def add_event(self, job_id: str, event: str, actor: str | None = None, **detail: Any) -> None:
        """Add an event that changes no status to the job's timeline (a Seer stage)."""
        entry = json.dumps({"event": event, "at": time.time(), "actor": actor, **detail})
        with self.client.pipeline() as pipe:
            pipe.rpush(timeline_key(job_id), entry)
            pipe.expire(timeline_key(job_id), self.ttl)
            pipe.incr(EVENTS_SEQ_KEY)
            pipe.execute()

    def events_seen(self) -> int:
        """How many job events have been recorded so far (grows with every one)."""
        return int(self.client.get(EVENTS_SEQ_KEY) or 0)

    def jobs_for_issue(self, issue_id: str) -> list[str]:
        """Ids of the jobs submitted for a Sentry issue."""
        return sorted(cast(set[str], self.client.smembers(issue_key(issue_id))))

    def rule_stats(self, rules: list[str]) -> dict[str, dict[str, int]]:
        """Outcome counts per rule (zero where none yet)."""
        with self.client.pipeline(transaction=False) as pipe:
            for rule in rules:
                pipe.hgetall(stats_key(rule))
            rows = pipe.execute()
        return {
            rule: {o: int(row.get(o, 0)) for o in OUTCOMES} for rule, row in zip(rules, rows, strict=True)
        }

    # -- listing -----------------------------------------------------------------------

    def list(
        self,
        status: str | None = None,
        tier: str | None = None,
        rule: str | None = None,
        limit: int = 50,
    ) -> list[Job]:
        """The newest jobs first, filtered."""
        return self.page(status=status, tier=tier, rule=rule, limit=limit).jobs

    def page(
        self,
        status: str | None = None,
        tier: str | None = None,
        rule: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page:
        """One page of the newest jobs first, filtered; pass the page's next_cursor to get
        the next. Walks the index of the first filter given (status, rule, tier), so the
        cost follows the page, not the number of records."""
        index = (
            status_index(status)
            if status
            else rule_index(rule)
            if rule
            else tier_index(tier)
            if tier
            else INDEX_KEY
        )
        wanted = {k: v for k, v in (("status", status), ("tier", tier), ("rule", rule)) if v}
        # One filter: its index holds exactly the matches, so read no more than the page.
        exact = len(wanted) <= 1
        max_score, after_id = _parse_cursor(cursor)
        found: list[Job] = []
        while len(found) < limit:
            entries = self._after(index, max_score, after_id, limit - len(found) if exact else PAGE_FETCH)
            if not entries:
                return Page(found, None)
            with self.client.pipeline(transaction=False) as pipe:
                for job_id, _ in entries:
                    pipe.hgetall(job_key(job_id))
                rows = pipe.execute()
            for (job_id, score), raw in zip(entries, rows, strict=True):
                max_score, after_id = repr(score), job_id
                if not raw:
                    continue  # expired record; its index entry goes with the retention sweep
                job = _decode(raw)
                if any(getattr(job, k) != v for k, v in wanted.items()):
                    continue
                found.append(job)
                if len(found) == limit:
                    return Page(found, f"{max_score}:{after_id}")
        return Page(found, f"{max_score}:{after_id}" if found else None)

    def _after(self, index: str, max_score: str, after_id: str | None, count: int) -> Entries:
        """Up to count index entries after the cursor (score max_score, then ids below
        after_id: Redis orders equal scores by member, descending, in a reverse range)."""
        num = count if after_id is None else count + 1  # the cursor's own entry comes back too
        while True:
            entries = cast(
                Entries,
                self.client.zrevrangebyscore(index, max_score, "-inf", start=0, num=num, withscores=True),
            )
            if after_id is None:
                return entries
            cut = float(max_score)
            fresh = [(i, s) for i, s in entries if not (s == cut and i >= after_id)]
            if fresh or len(entries) < num:
                return fresh[:count]
            num *= 2  # every entry read was a tie the cursor had passed: read further


def _parse_cursor(cursor: str | None) -> tuple[str, str | None]:
    """A cursor is "<score>:<id>" of the last job shown; none starts at the newest."""
    if not cursor:
        return "+inf", None
    score, _, job_id = cursor.partition(":")
    try:
        float(score)
    except ValueError:
        raise ValueError(f"invalid cursor {cursor!r}") from None
    return score, job_id or None
