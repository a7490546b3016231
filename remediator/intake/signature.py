"""Sentry's webhook signature: HMAC-SHA256 of the raw body with the client secret, hex."""

from __future__ import annotations

import hashlib
import hmac
import time


def sign(secret: str, body: bytes) -> str:
    """The signature Sentry sends in Sentry-Hook-Signature for this body."""
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, signature: str | None) -> bool:
    """Whether signature matches the exact bytes received (constant-time)."""
    if not signature:
        return False
    return hmac.compare_digest(sign(secret, body), signature.strip().lower())


def fresh(stamp: str, window: float, now: float | None = None) -> bool:
    """Whether a Sentry-Hook-Timestamp (unix seconds) is within window of now."""
    try:
        return abs((time.time() if now is None else now) - float(stamp)) <= window
    except ValueError:
        return False
