"""The people remediator knows, in Redis: a name, a role, whether they are disabled, and one
personal token kept as a hash (issuing a new one revokes the old). Checking a token costs an
argon2 verification (tens of milliseconds) the first time; a verified token is remembered in
this process for a few minutes by its SHA-256, while the person's role and whether they or
the token were revoked are read from Redis on every request, so a change applies at once."""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass
from typing import Any, cast

import redis

from remediator.defaults import KEY_PREFIX
from remediator.errors import RemediatorError
from remediator.people import tokens
from remediator.people.roles import Role

PEOPLE_KEY = f"{KEY_PREFIX}people"
"""name → the person (JSON)."""
TOKENS_KEY = f"{KEY_PREFIX}people:tokens"
"""token id → {person, hash, created_at} (JSON)."""
USED_KEY = f"{KEY_PREFIX}people:used"
"""token id → when it was last used (unix time)."""

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,79}$")
VERIFIED_FOR = 300.0
"""Seconds a verified token is remembered in process (its revocation is still read each time)."""


class PersonError(RemediatorError):
    """A person that cannot be added or changed as asked (the message says why)."""


@dataclass(frozen=True)
class Principal:
    """Who makes a request: their name, their role (None: signed in, allowed nothing) and how
    they proved it (`token`, `bootstrap`, `oidc`)."""

    name: str
    role: Role | None
    via: str
    why_no_role: str = ""


BOOTSTRAP = "bootstrap"
"""The actor named for the bootstrap token (REMEDIATOR_API_TOKEN): an admin with no person."""


def valid_name(name: str) -> str:
    name = name.strip()
    if not NAME.match(name):
        raise PersonError(
            f"{name!r} is not a usable name: letters, digits and . _ @ + - (an email works), "
            "at most 80, starting with a letter or digit"
        )
    if name == BOOTSTRAP:
        raise PersonError(f"{BOOTSTRAP!r} names the bootstrap token; choose another name")
    return name


class Directory:
    """People and their tokens on one Redis."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self._verified: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    # -- managing people ------------------------------------------------------------------

    def add(self, name: str, role: Role, by: str) -> tuple[dict[str, Any], str]:
        """Add a person with a first token; returns (the person, the token, shown once)."""
        name = valid_name(name)
        person = {
            "name": name,
            "role": role.label,
            "disabled": False,
            "created_at": time.time(),
            "created_by": by,
        }
        if not self.client.hsetnx(PEOPLE_KEY, name, json.dumps(person)):
            raise PersonError(f"{name} is already known (set-role changes a role; token issues a new token)")
        return self.get(name) or person, self.issue_token(name)

    def get(self, name: str) -> dict[str, Any] | None:
        raw = self.client.hget(PEOPLE_KEY, name)
        return json.loads(raw) if raw else None

    def people(self) -> list[dict[str, Any]]:
        """Everyone, by name, with their token's creation and last use (never its hash)."""
        found = [json.loads(v) for v in cast(dict[str, str], self.client.hgetall(PEOPLE_KEY)).values()]
        used = cast(dict[str, str], self.client.hgetall(USED_KEY))
        for person in found:
            person["token_last_used"] = (
                float(used[person["token_id"]]) if person.get("token_id") in used else None
            )
        return sorted(found, key=lambda p: p["name"])

    def set_role(self, name: str, role: Role) -> dict[str, Any]:
        return self._change(name, role=role.label)

    def disable(self, name: str) -> dict[str, Any]:
        """Disable a person: their token and sessions stop working at their next request."""
        return self._change(name, disabled=True)

    def issue_token(self, name: str) -> str:
        """A new personal token for `name` (the old one stops working); shown once."""
        token_id, token, hashed = tokens.new_token()
        now = time.time()

        def move(pipe: Any) -> None:
            raw = pipe.hget(PEOPLE_KEY, name)
            if raw is None:
                raise PersonError(f"no person {name} (add them first)")
            person = json.loads(raw)
            old = person.get("token_id")
            person.update(token_id=token_id, token_created_at=now)
            pipe.multi()
            pipe.hset(PEOPLE_KEY, name, json.dumps(person))
            pipe.hset(TOKENS_KEY, token_id, json.dumps({"person": name, "hash": hashed, "created_at": now}))
            if old:
                pipe.hdel(TOKENS_KEY, old)
                pipe.hdel(USED_KEY, old)

        self.client.transaction(move, PEOPLE_KEY)
        return token

    def _change(self, name: str, **fields: Any) -> dict[str, Any]:
        changed: dict[str, Any] = {}

        def move(pipe: Any) -> None:
            raw = pipe.hget(PEOPLE_KEY, name)
            if raw is None:
                raise PersonError(f"no person {name}")
            changed.clear()
            changed.update(json.loads(raw) | fields)
            pipe.multi()
            pipe.hset(PEOPLE_KEY, name, json.dumps(changed))

        self.client.transaction(move, PEOPLE_KEY)
        return changed

    # -- who a token belongs to ---------------------------------------------------------------

    def authenticate(self, token: str) -> Principal | None:
        """The person a personal token belongs to (None: not a current token, or disabled)."""
        token_id = tokens.token_id(token)
        if token_id is None:
            return None
        raw_token = self.client.hget(TOKENS_KEY, token_id)
        if raw_token is None:
            return None
        record = json.loads(raw_token)
        if not self._verified_token(token, token_id, record["hash"]):
            return None
        self.client.hset(USED_KEY, token_id, f"{time.time():.0f}")
        return self.principal(record["person"], token_id)

    def person_of(self, token_id: str) -> str | None:
        """The person a token id was issued to (None: no such current token)."""
        raw = self.client.hget(TOKENS_KEY, token_id)
        return str(json.loads(raw)["person"]) if raw else None

    def principal(self, name: str, token_id: str | None = None) -> Principal | None:
        """The person of that name as they are now (None when gone, disabled, or, given a
        token id, when that token is no longer theirs)."""
        person = self.get(name)
        if person is None or person.get("disabled"):
            return None
        if token_id is not None and person.get("token_id") != token_id:
            return None
        return Principal(name, Role.parse(person["role"]), "token")

    def _verified_token(self, token: str, token_id: str, hashed: str) -> bool:
        digest = hashlib.sha256(token.encode()).hexdigest()
        now = time.monotonic()
        with self._lock:
            seen = self._verified.get(digest)
            if seen is not None and seen[0] == token_id and now - seen[1] < VERIFIED_FOR:
                return True
        if not tokens.matches(token, hashed):
            return False
        with self._lock:
            if len(self._verified) > 10_000:
                self._verified.clear()
            self._verified[digest] = (token_id, now)
        return True
