"""Bearer tokens on requests, compared in constant time."""

from __future__ import annotations

import hmac

from flask import request


def bearer() -> str | None:
    """The request's `Authorization: Bearer <token>`, or None."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def bearer_ok(expected: str | None) -> bool:
    """Whether the request carries `Authorization: Bearer <expected>` (never with no token)."""
    return same_secret(bearer(), expected)


def same_secret(given: str | None, expected: str | None) -> bool:
    """Constant-time equality of two secrets; never true when either is missing."""
    return (
        bool(given)
        and bool(expected)
        and hmac.compare_digest((given or "").encode(), (expected or "").encode())
    )
