"""The process-wide list of secret values, and scrubbing them out of anything sent out.

Every sink that leaves the process (Sentry events, notifications, model prompts) passes
what it sends through `scrub`; settings secrets and params marked secret are registered.
"""

from __future__ import annotations

import re
from typing import Any

FILTERED = "[Filtered]"
"""What a secret is replaced with."""

MIN_SECRET_LENGTH = 6
"""Shorter values are not scrubbed (they would blank out ordinary words)."""

_secrets: set[str] = set()


def register_secret(value: object) -> None:
    """Never let this value leave the process, wherever it appears."""
    if isinstance(value, str) and len(value) >= MIN_SECRET_LENGTH:
        _secrets.add(value)


PERSONAL_TOKEN = re.compile(r"rmd_[a-z0-9]{12}_[A-Za-z0-9_-]{32,}")
"""A person's token (remediator.people.tokens): never registered one by one, always filtered."""


def scrub(value: Any) -> Any:
    """A copy of value with every registered secret, and anything shaped like a personal
    token, replaced by [Filtered]."""
    if isinstance(value, str) and "rmd_" in value:
        value = PERSONAL_TOKEN.sub(FILTERED, value)
    if not _secrets:
        if isinstance(value, dict | list | tuple):
            return _each(value)
        return value
    if isinstance(value, str):
        for secret in _secrets:
            if secret in value:
                value = value.replace(secret, FILTERED)
        return value
    if isinstance(value, dict | list | tuple):
        return _each(value)
    return value


def _each(value: dict[Any, Any] | list[Any] | tuple[Any, ...]) -> Any:
    if isinstance(value, dict):
        return {scrub(k): scrub(v) for k, v in value.items()}
    return [scrub(v) for v in value]
