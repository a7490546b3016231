"""The process-wide list of secret values, and scrubbing them out of anything sent out.

Every sink that leaves the process (Sentry events, notifications, model prompts) passes
what it sends through `scrub`; settings secrets and params marked secret are registered.
"""

from __future__ import annotations

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


def scrub(value: Any) -> Any:
    """A copy of value with every registered secret replaced by [Filtered]."""
    if not _secrets:
        return value
    if isinstance(value, str):
        for secret in _secrets:
            if secret in value:
                value = value.replace(secret, FILTERED)
        return value
    if isinstance(value, dict):
        return {scrub(k): scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    return value
