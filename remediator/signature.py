"""Sentry's webhook signature: HMAC-SHA256 of the raw body with the client secret, hex."""

from __future__ import annotations

import hashlib
import hmac


def sign(secret: str, body: bytes) -> str:
    """The signature Sentry sends in Sentry-Hook-Signature for this body."""
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, signature: str | None) -> bool:
    """Whether signature matches the exact bytes received (constant-time)."""
    if not signature:
        return False
    return hmac.compare_digest(sign(secret, body), signature.strip().lower())
