"""Memory of what worked: when a job for an analysed issue is verified (or found
ineffective), the analysis's root cause and fix are kept with that outcome under the issue's
signature (project, exception type, culprit, the title with numbers, ids and quoted values
taken out); a new analysis of a similar issue gets the closest earlier ones in its prompt, and
its comment links them. Entries live as long as job records.

Kept in one Redis list per project (newest first, at most MAX_PER_PROJECT); closeness is
scored here, in Python, over that short list."""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass
from typing import Any

from remediator.jobs.keys import memory_key

MAX_PER_PROJECT = 200
"""Entries kept per project (the oldest go first)."""

CLOSEST = 3
"""How many earlier fixes a new analysis is shown."""

_NUMBERS = re.compile(r"\b(?:0x)?[0-9a-f]*\d[0-9a-f]*\b", re.IGNORECASE)
_QUOTED = re.compile(r"""(['"`])(?:(?!\1).){0,200}\1""")


def normalised_title(title: str) -> str:
    """The title with quoted values, numbers and ids taken out (`KeyError: 'user_42'` and
    `KeyError: 'acct_7'` are one title)."""
    text = _QUOTED.sub("<v>", title or "")
    text = _NUMBERS.sub("<n>", text)
    return re.sub(r"\s+", " ", text).strip().lower()[:300]


@dataclass(frozen=True)
class Signature:
    """What makes two issues alike."""

    project: str
    exception_type: str
    culprit: str
    title: str

    @classmethod
    def of_issue(cls, issue: dict[str, Any]) -> Signature:
        """The signature of Sentry's issue details."""
        project = issue.get("project") or {}
        metadata = issue.get("metadata") or {}
        return cls(
            project=str(project.get("slug") or project.get("id") or ""),
            exception_type=str(metadata.get("type") or ""),
            culprit=str(issue.get("culprit") or ""),
            title=normalised_title(str(issue.get("title") or "")),
        )

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Signature | None:
        """A signature kept in a job's output, if it is one."""
        try:
            return cls(**{k: str(record[k]) for k in ("project", "exception_type", "culprit", "title")})
        except (KeyError, TypeError):
            return None


@dataclass(frozen=True)
class Memory:
    """One analysed issue whose fix was put to the test."""

    signature: Signature
    issue_id: str
    root_cause: str
    fix: str
    outcome: str
    """`verified` (the fix held) or `ineffective` (the issue kept producing events)."""
    job: str
    """The job whose verification decided the outcome."""
    analysis_job: str
    pull_request: str | None = None
    at: float = 0.0

    def for_prompt(self) -> dict[str, Any]:
        """What a model is shown of it (data, inside the fenced report)."""
        held = (
            "the fix held (verified)" if self.outcome == "verified" else "the fix did NOT hold (ineffective)"
        )
        return {"issue": self.issue_id, "root_cause": self.root_cause, "fix": self.fix, "outcome": held}


def closeness(a: Signature, b: Signature) -> int:
    """How alike two signatures are: the exception type 3, the culprit 2, the title 1 (0:
    not alike). Other projects are never alike."""
    if a.project != b.project:
        return 0
    score = 0
    if a.exception_type and a.exception_type == b.exception_type:
        score += 3
    if a.culprit and a.culprit == b.culprit:
        score += 2
    if a.title and a.title == b.title:
        score += 1
    return score


class MemoryStore:
    """The memories, in the job store's Redis."""

    def __init__(self, client: Any, ttl_seconds: int) -> None:
        self.client = client
        self.ttl = max(1, ttl_seconds)

    def remember(self, memory: Memory) -> None:
        """Keep a memory (a later one for the same issue and job replaces nothing: both stay)."""
        key = memory_key(memory.signature.project)
        entry = json.dumps({**asdict(memory), "at": memory.at or time.time()})
        with self.client.pipeline(transaction=True) as pipe:
            pipe.lpush(key, entry)
            pipe.ltrim(key, 0, MAX_PER_PROJECT - 1)
            pipe.expire(key, self.ttl)
            pipe.execute()

    def closest(self, signature: Signature, n: int = CLOSEST) -> list[Memory]:
        """The n memories closest to a signature, closest then newest first (each issue once)."""
        scored: list[tuple[int, float, Memory]] = []
        seen: set[str] = set()
        for raw in self.client.lrange(memory_key(signature.project), 0, -1):
            memory = _decode(raw)
            if memory is None or memory.issue_id in seen:
                continue
            score = closeness(signature, memory.signature)
            if score >= 2:  # the exception type or the culprit, at least
                seen.add(memory.issue_id)
                scored.append((score, memory.at, memory))
        scored.sort(key=lambda item: (-item[0], -item[1]))
        return [memory for _, _, memory in scored[:n]]

    def everything(self) -> list[Memory]:
        """Every memory of every project, newest first per project."""
        found = []
        for key in self.client.scan_iter(memory_key("*")):
            found += [m for raw in self.client.lrange(key, 0, -1) if (m := _decode(raw)) is not None]
        return found


def _decode(raw: Any) -> Memory | None:
    try:
        document = json.loads(raw)
        signature = Signature(**document.pop("signature"))
        return Memory(signature=signature, **document)
    except (ValueError, TypeError, KeyError):
        return None
