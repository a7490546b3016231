"""Probing the health URLs and keeping an hour of answers per URL in Redis."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

import redis
import requests

from remediator.defaults import KEY_PREFIX

KEPT_SECONDS = 3600
"""How long a probe's answer is kept."""

PAGE_TIMEOUT = 2.0
"""Seconds a probe from the page's load waits (the beat's own probes wait longer)."""

BEAT_TIMEOUT = 5.0


@dataclass(frozen=True)
class Probe:
    """One answer: its HTTP status (None: no answer), latency, or why it failed."""

    at: float
    status: int | None
    latency: float | None
    error: str | None = None
    by: str = "web"
    """Who probed: `web` (the page's load) or `beat` (every minute)."""

    @property
    def up(self) -> bool:
        """Answered 2xx or 3xx."""
        return self.status is not None and self.status < 400


def probe_key(url: str) -> str:
    """An hour of a URL's probe answers (a sorted set by time)."""
    return f"{KEY_PREFIX}probe:{hashlib.sha256(url.encode()).hexdigest()[:32]}"


def probe(url: str, timeout: float, by: str = "web") -> Probe:
    """GET the URL once, following no redirect."""
    started = time.monotonic()
    at = time.time()
    try:
        answer = requests.get(url, timeout=timeout, allow_redirects=False)
    except requests.RequestException as exc:
        return Probe(at, None, None, f"{type(exc).__name__}: {_short(exc)}", by)
    return Probe(at, answer.status_code, time.monotonic() - started, None, by)


def probe_all(urls: Iterable[str], timeout: float, by: str = "web") -> dict[str, Probe]:
    """Probe the URLs at once (a slow one costs its own timeout, not the others')."""
    wanted = list(dict.fromkeys(urls))
    if not wanted:
        return {}
    with ThreadPoolExecutor(max_workers=min(8, len(wanted))) as pool:
        return dict(zip(wanted, pool.map(lambda u: probe(u, timeout, by), wanted), strict=True))


def record(client: redis.Redis, probes: dict[str, Probe]) -> None:
    """Keep the answers, each URL's older than an hour dropped, in one round trip."""
    with client.pipeline(transaction=False) as pipe:
        for url, found in probes.items():
            key = probe_key(url)
            pipe.zadd(key, {json.dumps(asdict(found)): found.at})
            pipe.zremrangebyscore(key, "-inf", found.at - KEPT_SECONDS)
            pipe.expire(key, KEPT_SECONDS)
        pipe.execute()


def history(client: redis.Redis, urls: list[str], now: float | None = None) -> dict[str, list[Probe]]:
    """Each URL's answers of the last hour, newest first, in one round trip."""
    since = (time.time() if now is None else now) - KEPT_SECONDS
    with client.pipeline(transaction=False) as pipe:
        for url in urls:
            pipe.zrevrangebyscore(probe_key(url), "+inf", since)
        rows = pipe.execute()
    return {url: [Probe(**json.loads(raw)) for raw in row] for url, row in zip(urls, rows, strict=True)}


def _short(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) <= 160 else text[:157] + "..."
