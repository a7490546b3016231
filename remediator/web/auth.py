"""Bearer tokens on requests, compared in constant time."""

from __future__ import annotations

import hmac

from flask import request


def bearer_ok(expected: str | None) -> bool:
    """Whether the request carries `Authorization: Bearer <expected>` (never with no token)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return (
        bool(expected)
        and scheme.lower() == "bearer"
        and hmac.compare_digest(token.strip().encode(), (expected or "").encode())
    )
