"""Durations as people write them in rule files and settings: `30`, `30s`, `10m`, `1h`, `1d`."""

from __future__ import annotations

import re

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*")


def parse_duration(text: str) -> float:
    """Seconds in text; a ValueError says how to write it."""
    found = _DURATION.fullmatch(text)
    if not found:
        raise ValueError(f"{text!r} is not a duration: use seconds, or e.g. 30s, 10m, 1h")
    return float(found[1]) * _UNITS[found[2] or "s"]


def span_text(seconds: float) -> str:
    """A duration as people say it, coarsely: `45 s`, `12 min`, `5 h`, `3 d`."""
    seconds = max(0.0, seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit}"
    return f"{int(seconds)} s"
