"""Sentry as the infrastructure page shows it: whether its API answers, the rate-limit
headroom its answers report, the tiers' cron monitors as Sentry sees them, and the
organization's uptime monitors. Asked when the page loads, once, without retries."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from remediator import defaults
from remediator.sentry.api import SentryApi, SentryApiError
from remediator.settings import Settings

RATE_HEADERS = {
    "limit": "X-Sentry-Rate-Limit-Limit",
    "remaining": "X-Sentry-Rate-Limit-Remaining",
    "reset": "X-Sentry-Rate-Limit-Reset",
    "concurrent_limit": "X-Sentry-Rate-Limit-ConcurrentLimit",
    "concurrent_remaining": "X-Sentry-Rate-Limit-ConcurrentRemaining",
}
"""The rate-limit headers Sentry's middleware puts on every answer."""


@dataclass(frozen=True)
class TierMonitor:
    """A tier's cron monitor as Sentry reports it (per environment)."""

    tier: str
    slug: str
    found: bool
    environments: list[dict[str, Any]] = field(default_factory=list)
    """name, status (`ok`, `error`, `missed_checkin`, `timeout`, `active`), lastCheckIn."""


@dataclass(frozen=True)
class SentrySide:
    """One look at Sentry from the web."""

    configured: bool
    reachable: bool = False
    error: str | None = None
    latency: float | None = None
    rate_limit: dict[str, int] = field(default_factory=dict)
    """The headroom of the last answer: limit, remaining, reset (unix time), concurrent_*."""
    monitors: list[TierMonitor] = field(default_factory=list)
    uptime: list[dict[str, Any]] | None = None
    """The organization's uptime monitors (name, url, status, up); None when Sentry has no
    such endpoint for it (self-hosted without uptime, or no access)."""


def rate_limit(headers: Mapping[str, str]) -> dict[str, int]:
    """The rate-limit headroom an answer's headers report (those present)."""
    found = {}
    for name, header in RATE_HEADERS.items():
        value = headers.get(header)
        if value is not None and value.strip().lstrip("-").isdigit():
            found[name] = int(value)
    return found


def tier_monitors(answer: list[dict[str, Any]], tiers: tuple[str, ...]) -> list[TierMonitor]:
    """Each tier's monitor out of `GET …/monitors/`'s answer. Pure."""
    by_slug = {m.get("slug"): m for m in answer if isinstance(m, dict)}
    found = []
    for tier in tiers:
        slug = defaults.MONITOR_SLUG.format(tier=tier)
        monitor = by_slug.get(slug)
        environments = [
            {"name": e.get("name"), "status": e.get("status"), "lastCheckIn": e.get("lastCheckIn")}
            for e in (monitor or {}).get("environments") or []
        ]
        found.append(TierMonitor(tier, slug, monitor is not None, environments))
    return found


def uptime_monitors(answer: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The uptime monitors out of `GET …/uptime/`'s answer (uptimeStatus 1 is up). Pure."""
    return [
        {
            "name": m.get("name"),
            "url": m.get("url"),
            "status": m.get("status"),
            "up": m.get("uptimeStatus") == 1,
            "environment": m.get("environment"),
        }
        for m in answer
        if isinstance(m, dict)
    ]


def sentry_side(settings: Settings, timeout: float = 3.0) -> SentrySide:
    """Ask Sentry (the monitors, then the uptime monitors) once each, without retrying."""
    if not (settings.sentry_auth_token and settings.sentry_org):
        return SentrySide(configured=False)
    api = SentryApi(
        settings.sentry_api_url,
        settings.sentry_auth_token,
        settings.sentry_org,
        timeout=(min(timeout, 3.05), timeout),
        max_retries=0,
    )
    started = time.monotonic()
    try:
        monitors, headers = api.get_with_headers(f"/organizations/{settings.sentry_org}/monitors/")
    except SentryApiError as exc:
        return SentrySide(configured=True, error=str(exc))
    latency = time.monotonic() - started
    limits = rate_limit(headers)
    uptime: list[dict[str, Any]] | None
    try:
        found, headers = api.get_with_headers(f"/organizations/{settings.sentry_org}/uptime/")
        uptime, limits = (
            uptime_monitors(found if isinstance(found, list) else []),
            rate_limit(headers) or limits,
        )
    except SentryApiError as exc:
        if exc.status not in (403, 404):
            return SentrySide(True, True, f"uptime monitors: {exc}", latency, limits)
        uptime = None
    return SentrySide(
        configured=True,
        reachable=True,
        latency=latency,
        rate_limit=limits,
        monitors=tier_monitors(monitors if isinstance(monitors, list) else [], settings.tiers),
        uptime=uptime,
    )
