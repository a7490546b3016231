"""Redaction before anything leaves for a model: registered secrets, then what looks like a
credential, an email address or an IP address, in every string of a document."""

from __future__ import annotations

import re
from typing import Any

from remediator.redaction import scrub

PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 [Filtered]"),
    # "token <value>" when the value looks like one (it has a digit): not "token duration"
    (re.compile(r"(?i)\b(token)\s+(?=[A-Za-z._~+/=-]*\d)[A-Za-z0-9._~+/=-]{8,}"), r"\1 [Filtered]"),
    # key=value and "key": "value" pairs whose key says secret
    (
        re.compile(
            r"(?i)\b(password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|auth|authorization|"
            r"session|cookie|dsn)\b(\"?\s*[:=]\s*\"?)([^\s\"',;&]+)"
        ),
        r"\1\2[Filtered]",
    ),
    (re.compile(r"\bAKIA[0-9A-Z]{16}\b"), "[Filtered]"),
    (re.compile(r"\b(?:gh[pousr]|github_pat)_[A-Za-z0-9_]{20,}\b"), "[Filtered]"),
    (re.compile(r"\bsk-[A-Za-z0-9_-]{16,}\b"), "[Filtered]"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\b"), "[Filtered]"),
    (re.compile(r"://[^/\s:@]+:[^/\s@]+@"), "://[Filtered]@"),
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"), "[email]"),
    (re.compile(r"\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b"), "[ip]"),
    (re.compile(r"\b(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}\b"), "[ip]"),
)


def redact_text(text: str) -> str:
    """One string, redacted."""
    text = scrub(text)
    for pattern, replacement in PATTERNS:
        text = pattern.sub(replacement, text)
    return text


SECRET_KEY = re.compile(
    r"(?i)(password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|auth|cookie|session|dsn|credential|private)"
)
"""A mapping key that says its value is a secret (as Sentry's own scrubber reads keys)."""


def redact_for_model(value: Any) -> Any:
    """A document with every string (keys included) redacted, and the value of every key
    that names a secret replaced whole."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {
            redact_for_model(k): "[Filtered]"
            if isinstance(k, str) and SECRET_KEY.search(k) and v
            else redact_for_model(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_for_model(v) for v in value]
    return value
