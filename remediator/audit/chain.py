"""The audit trail's hash chain. Pure: each entry's hash covers the one before it, so
verifying the chain finds the first entry deleted or edited."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64
"""What the first entry ever names as the one before it."""


def canonical(entry: dict[str, Any]) -> str:
    """An entry as the hash reads it: sorted keys, no spaces."""
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), default=str)


def link(previous: str, entry: dict[str, Any]) -> str:
    """The hash of an entry that follows `previous`."""
    return hashlib.sha256((previous + canonical(entry)).encode()).hexdigest()


@dataclass(frozen=True)
class Stored:
    """One entry as kept: its id in the stream, its text, the hash before it and its own."""

    id: str
    entry: str
    previous: str
    hash: str


def broken_at(entries: Sequence[Stored], start: str = GENESIS) -> tuple[int, str] | None:
    """Where the chain breaks (index, why in words), or None when every entry links to the
    one before it (`start`: what the oldest kept entry must name)."""
    expected = start
    for index, stored in enumerate(entries):
        if stored.previous != expected:
            before = entries[index - 1].id if index else "the start of the trail"
            return index, (
                f"entry {stored.id} does not follow {before}: an entry between them was deleted "
                "(or this one was moved)"
            )
        try:
            entry = json.loads(stored.entry)
        except ValueError:
            return index, f"entry {stored.id} is not an entry any more: it was edited"
        if link(stored.previous, entry) != stored.hash:
            return index, f"entry {stored.id} was edited: its hash does not match its content"
        expected = stored.hash
    return None
