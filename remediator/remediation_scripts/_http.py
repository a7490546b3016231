"""HTTP steps shared by the scripts: one call with an expected status, and a health wait."""

from __future__ import annotations

import time
from typing import Annotated, Any

import requests
from pydantic import AfterValidator

from remediator.errors import ScriptError
from remediator.scripts import ScriptContext

BODY_EXCERPT = 2000
"""How much of a response body a job's output keeps."""


def _http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError(f"{value!r} is not an http:// or https:// URL")
    return value


HttpUrl = Annotated[str, AfterValidator(_http_url)]
"""A URL the scripts may call."""


def call(
    ctx: ScriptContext,
    step: str,
    method: str,
    url: str,
    *,
    expected: tuple[int, ...] | None = None,
    timeout: float = 10.0,
    headers: dict[str, str] | None = None,
    json: Any = None,
) -> requests.Response:
    """Make one HTTP call, record it as a step and fail unless the status is expected."""
    started = time.monotonic()
    try:
        response = requests.request(method, url, json=json, headers=headers, timeout=timeout)
    except requests.RequestException as exc:
        ctx.step(step, False, started, method=method, url=url, error=str(exc))
        raise ScriptError(f"{step}: {method} {url} failed: {exc}") from None
    ok = response.status_code in expected if expected else 200 <= response.status_code < 300
    body = response.text[:BODY_EXCERPT]
    ctx.step(step, ok, started, method=method, url=url, status=response.status_code, body=body)
    if not ok:
        want = ", ".join(map(str, expected)) if expected else "2xx"
        raise ScriptError(f"{step}: {method} {url} answered {response.status_code}, expected {want}")
    return response


def wait_healthy(ctx: ScriptContext, url: str, *, attempts: int, interval: float, timeout: float) -> None:
    """Poll a health endpoint until it answers 2xx, recording each try."""
    for attempt in range(1, attempts + 1):
        try:
            call(ctx, f"health-check #{attempt}", "GET", url, timeout=timeout)
            return
        except ScriptError:
            if attempt == attempts:
                raise ScriptError(f"health-check: {url} not healthy after {attempts} tries") from None
            time.sleep(interval)


def probe(ctx: ScriptContext, url: str, *, timeout: float) -> bool:
    """One health check before acting, recorded as a step: whether it answered 2xx."""
    try:
        call(ctx, "health-check before acting", "GET", url, timeout=timeout)
    except ScriptError:
        return False
    return True
