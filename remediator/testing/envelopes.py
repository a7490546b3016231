"""Reading what sentry-sdk sends to /api/<project>/envelope/."""

from __future__ import annotations

import gzip
import json
import zlib
from typing import Any


class EnvelopeError(ValueError):
    """The body is not an envelope this reader understands."""


def decompress(body: bytes, encoding: str) -> bytes:
    """Undo the Content-Encoding sentry-sdk used (gzip, deflate, br; none)."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    if encoding == "br":
        try:
            import brotli
        except ImportError:
            raise EnvelopeError("brotli body but the brotli package is not installed") from None
        data: bytes = brotli.decompress(body)
        return data
    raise EnvelopeError(f"unsupported Content-Encoding {encoding!r}")


def parse_envelope(raw: bytes) -> tuple[dict[str, Any], list[tuple[dict[str, Any], Any]]]:
    """Split an envelope into its header and (item header, payload) pairs.

    JSON payloads are decoded; others stay bytes. An item header's `length`, when given,
    is the exact payload size; otherwise the payload runs to the next newline.
    """
    header_line, _, rest = raw.partition(b"\n")
    try:
        header = json.loads(header_line)
    except ValueError as exc:
        raise EnvelopeError(f"bad envelope header: {exc}") from None
    items: list[tuple[dict[str, Any], Any]] = []
    while rest.strip():
        item_line, _, rest = rest.partition(b"\n")
        if not item_line.strip():
            continue
        item_header = json.loads(item_line)
        length = item_header.get("length")
        if length is None:
            payload, _, rest = rest.partition(b"\n")
        else:
            payload, rest = rest[:length], rest[length:]
            rest = rest.removeprefix(b"\n")
        content: Any = payload
        if item_header.get("content_type", "application/json") == "application/json" or item_header.get(
            "type"
        ) in ("event", "transaction", "check_in", "session", "sessions", "client_report"):
            try:
                content = json.loads(payload)
            except ValueError:
                content = payload
        items.append((item_header, content))
    return header, items
