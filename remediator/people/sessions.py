"""Console sessions kept on the server: the cookie holds only a random session id (and the
CSRF token); Redis holds who it is, how they signed in, when, and when they were last seen.
A session ends after its lifetime (12 h) or its idle timeout (1 h) — Redis's own expiry is
the idle timeout, refreshed on use — and sign-out deletes it, so a copied cookie is dead too.
People with a personal token get their role from the directory on every request; people
signed in through the identity provider keep the role its claims mapped to at sign-in."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

import redis

from remediator.defaults import KEY_PREFIX
from remediator.people.directory import Directory, Principal
from remediator.people.roles import Role

SESSION_PREFIX = f"{KEY_PREFIX}session:"


class Sessions:
    def __init__(self, client: redis.Redis, lifetime: float, idle: float) -> None:
        self.client = client
        self.lifetime = lifetime
        self.idle = idle

    def start(self, principal: Principal) -> str:
        """A new session for `principal`; returns its id (for the cookie)."""
        sid = secrets.token_urlsafe(32)
        now = time.time()
        record = {
            "name": principal.name,
            "role": principal.role.label if principal.role else "",
            "via": principal.via,
            "why_no_role": principal.why_no_role,
            "created_at": now,
        }
        self.client.set(SESSION_PREFIX + sid, json.dumps(record), ex=max(1, int(self.idle)))
        return sid

    def principal(self, sid: str, directory: Directory) -> Principal | None:
        """Who this session belongs to now, refreshing its idle timeout; None when it ended
        (signed out, idle, past its lifetime, or the person was disabled or is gone)."""
        key = SESSION_PREFIX + sid
        pipe = self.client.pipeline(transaction=False)
        pipe.get(key)
        pipe.expire(key, max(1, int(self.idle)))  # no-op when gone (Redis 6.2 has no XX)
        raw, _ = pipe.execute()
        if raw is None:
            return None
        record: dict[str, Any] = json.loads(raw)
        if time.time() - float(record["created_at"]) > self.lifetime:
            self.client.delete(key)
            return None
        if record["via"] in ("token", "bootstrap") and record["name"] != "bootstrap":
            return directory.principal(record["name"])
        role = Role.parse(record["role"]) if record["role"] else None
        return Principal(record["name"], role, record["via"], record.get("why_no_role", ""))

    def end(self, sid: str) -> None:
        self.client.delete(SESSION_PREFIX + sid)
