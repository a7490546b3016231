"""A small client for the org-scoped subset of Sentry's REST API that remediator uses."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from remediator.errors import RemediatorError
from remediator.settings import Settings

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
"""Answers worth another try: rate limited, or Sentry having a bad moment."""


class SentryApiError(RemediatorError):
    """Sentry's API refused a call or could not be reached; `status` is None for the latter."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def retry_delay(response: requests.Response, attempt: int, backoff: float) -> float:
    """How long to wait before the next try: Sentry's own word first, else exponential."""
    retry_after = response.headers.get("Retry-After")
    if retry_after:
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            try:
                return max(0.0, parsedate_to_datetime(retry_after).timestamp() - time.time())
            except (TypeError, ValueError):
                pass
    reset = response.headers.get("X-Sentry-Rate-Limit-Reset")
    if reset:
        try:
            return max(0.0, float(reset) - time.time())
        except ValueError:
            pass
    return float(backoff * (2**attempt))


class SentryApi:
    """Org-scoped calls with timeouts on every request and retries on 429/5xx."""

    def __init__(
        self,
        base_url: str,
        token: str,
        org: str,
        *,
        timeout: tuple[float, float] = (3.05, 10.0),
        max_retries: int = 4,
        backoff: float = 0.5,
        max_delay: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.org = org
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_delay = max_delay
        self.sleep = sleep
        self.session = requests.Session()
        self.session.headers.update({"Authorization": f"Bearer {token}", "User-Agent": "remediator"})

    def _issue_path(self, issue_id: str, rest: str = "") -> str:
        return f"/organizations/{self.org}/issues/{issue_id}/{rest}"

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """One API call, retried on 429 and 5xx; returns the decoded JSON body."""
        response = self._call(method, path, **kwargs)
        return response.json() if response.content else None

    def _call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        url = f"{self.base_url}{path}"
        for attempt in range(self.max_retries + 1):
            try:
                response = self.session.request(method, url, timeout=self.timeout, **kwargs)
            except requests.RequestException as exc:
                if attempt == self.max_retries:
                    raise SentryApiError(f"{method} {path}: {exc}") from None
                self.sleep(self.backoff * (2**attempt))
                continue
            if response.status_code in RETRY_STATUSES and attempt < self.max_retries:
                delay = retry_delay(response, attempt, self.backoff)
                if delay > self.max_delay:
                    raise SentryApiError(
                        f"{method} {path}: {response.status_code}, retry in {delay:.0f}s is too long",
                        response.status_code,
                    )
                log.info("sentry api %s %s: %s, retrying in %.2fs", method, path, response.status_code, delay)
                self.sleep(delay)
                continue
            if response.status_code >= 400:
                raise SentryApiError(
                    f"{method} {path}: {response.status_code} {response.text[:300]}",
                    response.status_code,
                )
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def get_with_headers(self, path: str, **params: str) -> tuple[Any, Mapping[str, str]]:
        """A GET's decoded body and the answer's headers (its rate-limit headroom, say)."""
        response = self._call("GET", path, params=params)
        return (response.json() if response.content else None), response.headers

    def issue_pages(self, stats_period: str, query: str = "") -> Iterator[list[dict[str, Any]]]:
        """The organization's issues seen in the period (`14d`), a page of up to 100 at a
        time, following Sentry's `Link` cursors; when a page says no requests remain, the
        next waits for the rate limit's reset."""
        path = f"/organizations/{self.org}/issues/"
        params = {"statsPeriod": stats_period, "query": query, "limit": "100"}
        cursor: str | None = None
        while True:
            response = self._call("GET", path, params={**params, **({"cursor": cursor} if cursor else {})})
            yield response.json()
            cursor = next_cursor(response.headers.get("Link", ""))
            if cursor is None:
                return
            if response.headers.get("X-Sentry-Rate-Limit-Remaining") == "0":
                self.sleep(min(self.max_delay, retry_delay(response, 0, self.backoff)))

    def get_issue(self, issue_id: str) -> dict[str, Any]:
        """The issue (status, firstSeen, lastSeen, count, ...)."""
        issue: dict[str, Any] = self.request("GET", self._issue_path(issue_id))
        return issue

    def latest_event(self, issue_id: str) -> dict[str, Any]:
        """The issue's most recent event."""
        event: dict[str, Any] = self.request("GET", self._issue_path(issue_id, "events/latest/"))
        return event

    def list_events(self, issue_id: str, **params: str) -> list[dict[str, Any]]:
        """The issue's events, newest first (params: start, end, statsPeriod, query, full)."""
        events: list[dict[str, Any]] = self.request(
            "GET", self._issue_path(issue_id, "events/"), params=params
        )
        return events

    def activities(self, issue_id: str) -> list[dict[str, Any]]:
        """The issue's activity, newest first (status changes, notes, its first sighting)."""
        answer: dict[str, Any] = self.request("GET", self._issue_path(issue_id, "activities/"))
        found: list[dict[str, Any]] = answer.get("activity") or []
        return found

    def add_comment(self, issue_id: str, text: str) -> dict[str, Any]:
        """Post a comment (Sentry refuses the same text on the same issue within an hour)."""
        note: dict[str, Any] = self.request(
            "POST", self._issue_path(issue_id, "comments/"), json={"text": text}
        )
        return note

    def update_status(self, issue_id: str, status: str, **details: Any) -> dict[str, Any]:
        """Set the issue's status: resolved, unresolved, ignored, resolvedInNextRelease."""
        body: dict[str, Any] = {"status": status}
        if details:
            body["statusDetails"] = details
        result: dict[str, Any] = self.request("PUT", self._issue_path(issue_id), json=body)
        return result


def next_cursor(link: str) -> str | None:
    """The cursor of the next page in Sentry's `Link` header, None on the last page."""
    for part in link.split(","):
        if 'rel="next"' in part and 'results="true"' in part:
            found = re.search(r'cursor="([^"]+)"', part)
            if found:
                return found[1]
    return None


def api_for(settings: Settings) -> SentryApi | None:
    """The REST client, or None when REMEDIATOR_SENTRY_AUTH_TOKEN and _ORG are not both set."""
    if not (settings.sentry_auth_token and settings.sentry_org):
        return None
    return SentryApi(settings.sentry_api_url, settings.sentry_auth_token, settings.sentry_org)


def parse_time(value: str) -> float:
    """Sentry's ISO timestamps as epoch seconds."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
