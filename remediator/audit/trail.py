"""The audit trail in Redis: an append-only stream (`remediator:audit`), each entry carrying
the hash of the one before it (chain.py). An entry: time, actor, role, action, target, source
address, outcome, and what else the action says. Kept `REMEDIATOR_AUDIT_RETENTION_DAYS`
(400); what retention drops moves the chain's start (`remediator:audit:start`), so the
oldest kept entry is checked against it too."""

from __future__ import annotations

import json
import logging
import random
import time
from typing import Any, cast

import redis

from remediator.audit.chain import GENESIS, Stored, broken_at, canonical, link
from remediator.defaults import KEY_PREFIX
from remediator.redaction import scrub

log = logging.getLogger(__name__)

STREAM_KEY = f"{KEY_PREFIX}audit"
LAST_KEY = f"{KEY_PREFIX}audit:last"
"""The newest entry's hash (the next one's `previous`)."""
START_KEY = f"{KEY_PREFIX}audit:start"
"""The hash the oldest kept entry names as the one before it (GENESIS until retention drops
entries)."""

TRIM_CHANCE = 1 / 100


class AuditTrail:
    """Appends and reads the trail; appending retries when another process appended first."""

    def __init__(self, client: redis.Redis, retention_days: int = 400) -> None:
        self.client = client
        self.retention = retention_days * 86400

    def record(
        self,
        action: str,
        actor: str | None,
        target: str = "",
        outcome: str = "ok",
        source: str = "",
        role: str = "",
        **detail: Any,
    ) -> str:
        """Append one entry (secrets scrubbed); returns its id."""
        entry = scrub(
            {
                "at": time.time(),
                "actor": actor or "unknown",
                "role": role,
                "action": action,
                "target": target,
                "source": source,
                "outcome": outcome,
                **{k: v for k, v in detail.items() if v not in (None, "")},
            }
        )
        for _ in range(20):
            with self.client.pipeline() as pipe:
                try:
                    pipe.watch(LAST_KEY)  # type: ignore[no-untyped-call, unused-ignore]
                    previous = cast(str | None, pipe.get(LAST_KEY)) or GENESIS
                    digest = link(previous, entry)
                    pipe.multi()
                    pipe.xadd(STREAM_KEY, {"entry": canonical(entry), "previous": previous, "hash": digest})
                    pipe.set(LAST_KEY, digest)
                    entry_id = pipe.execute()[0]
                except redis.WatchError:
                    continue
            if random.random() < TRIM_CHANCE:
                self.trim()
            return str(entry_id)
        raise RuntimeError("the audit trail was appended to by others 20 times in a row")

    def trim(self, now: float | None = None) -> int:
        """Drop entries past the retention, moving the chain's start to the last dropped."""
        horizon_ms = int(((time.time() if now is None else now) - self.retention) * 1000)
        old = cast(
            list[tuple[str, dict[str, str]]],
            self.client.xrange(STREAM_KEY, "-", f"{horizon_ms}", count=10_000),
        )
        if not old:
            return 0
        with self.client.pipeline() as pipe:
            pipe.set(START_KEY, old[-1][1]["hash"])
            pipe.xtrim(STREAM_KEY, minid=old[-1][0], approximate=False)
            pipe.xdel(STREAM_KEY, old[-1][0])
            pipe.execute()
        return len(old)

    def stored(self) -> list[Stored]:
        """Every kept entry, oldest first."""
        raw = cast(list[tuple[str, dict[str, str]]], self.client.xrange(STREAM_KEY))
        return [Stored(i, f.get("entry", ""), f.get("previous", ""), f.get("hash", "")) for i, f in raw]

    def entries(self, since: float | None = None, actor: str | None = None) -> list[dict[str, Any]]:
        """The entries, oldest first, each with its id (filtered by time and actor)."""
        found = []
        for stored in self.stored():
            try:
                entry = json.loads(stored.entry)
            except ValueError:
                entry = {"action": "(unreadable)", "at": 0}
            if since is not None and float(entry.get("at", 0)) < since:
                continue
            if actor is not None and entry.get("actor") != actor:
                continue
            found.append({"id": stored.id, **entry})
        return found

    def verify(self) -> tuple[int, str | None]:
        """How many entries were checked and, when the chain breaks, where and why."""
        kept = self.stored()
        start = cast(str | None, self.client.get(START_KEY)) or GENESIS
        broken = broken_at(kept, start)
        return len(kept), (broken[1] if broken else None)
