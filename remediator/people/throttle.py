"""Failed sign-ins throttled per source address and per person: after `limit` failures
within `window` seconds, further attempts are refused (HTTP 429 with Retry-After) until the
oldest failure leaves the window. One sorted set of failure times per address or person."""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import cast

import redis

from remediator.defaults import KEY_PREFIX

FAILED_PREFIX = f"{KEY_PREFIX}signin:failed:"


def _key(kind: str, value: str) -> str:
    # Hashed: an address or a guessed name is not kept in Redis's key space as typed.
    return f"{FAILED_PREFIX}{kind}:{hashlib.sha256(value.encode()).hexdigest()[:32]}"


class SignInThrottle:
    def __init__(self, client: redis.Redis, limit: int = 10, window: float = 600.0) -> None:
        self.client = client
        self.limit = limit
        self.window = window

    def retry_after(self, address: str, person: str | None) -> int:
        """Seconds until this address and person may try again (0: now): when `limit` or more
        failures fall in the window, until the one that would leave `limit - 1` ages out.
        One round trip."""
        now = time.time()
        pipe = self.client.pipeline(transaction=False)
        for key in self._keys(address, person):
            pipe.zremrangebyscore(key, "-inf", now - self.window)
            pipe.zrange(key, 0, -1, withscores=True)
        waits = [0]
        for failures in cast(list[list[tuple[str, float]]], pipe.execute()[1::2]):
            if len(failures) >= self.limit:
                waits.append(int(failures[len(failures) - self.limit][1] + self.window - now) + 1)
        return max(waits)

    def failed(self, address: str, person: str | None) -> None:
        now = time.time()
        pipe = self.client.pipeline(transaction=False)
        for key in self._keys(address, person):
            pipe.zadd(key, {f"{now:.6f}:{secrets.token_hex(4)}": now})
            pipe.expire(key, int(self.window) + 1)
        pipe.execute()

    def _keys(self, address: str, person: str | None) -> list[str]:
        return [_key("addr", address)] + ([_key("person", person)] if person else [])
