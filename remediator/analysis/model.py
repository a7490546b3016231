"""The answer an analyzer must give, validated before anything acts on it."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

LOW_CONFIDENCE_CAP = 50
"""A diff touching a file the evidence never names is capped at this confidence."""


class SuggestedFix(BaseModel):
    """What to change, in words and optionally as a unified diff."""

    model_config = ConfigDict(extra="ignore")

    language: str = Field(default="text", max_length=40)
    explanation: str = Field(min_length=1, max_length=4000)
    diff: str | None = Field(default=None, max_length=20_000)


class Analysis(BaseModel):
    """A root-cause analysis: every field checked; unknown fields are dropped."""

    model_config = ConfigDict(extra="ignore")

    root_cause: str = Field(min_length=1, max_length=4000)
    suggested_fix: SuggestedFix
    impact: str = Field(min_length=1, max_length=2000)
    urgency: Literal["low", "medium", "high", "critical"]
    confidence: int = Field(ge=0, le=100)
    can_auto_fix: bool
    files: list[str] = Field(default_factory=list, max_length=50)
    suspect_commit: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{7,40}$")
    """The SHA (7 to 40 hex digits) of the suspect commit the root cause blames, when the
    evidence offered some. The pattern goes with the schema: a constrained decoder can only
    write a SHA or null there."""


_DIFF_PATH = re.compile(r"^(?:\+\+\+|---) (?:[ab]/)?(\S+)", re.MULTILINE)


def diff_files(diff: str | None) -> set[str]:
    """The files a unified diff names (without a/ b/ prefixes; /dev/null left out)."""
    if not diff:
        return set()
    return {path for path in _DIFF_PATH.findall(diff) if path != "/dev/null"}


def known(path: str, files: set[str]) -> bool:
    """Whether a path names one of the files (either may be a suffix of the other)."""
    path = path.lstrip("./")
    return any(f.endswith(path) or path.endswith(f.lstrip("./")) for f in files if f)


def capped(analysis: Analysis, evidence_files: set[str]) -> Analysis:
    """The analysis with its confidence capped at 50 when its diff touches a file that
    neither the stack trace (nor, when given, the repository) names."""
    strangers = [p for p in diff_files(analysis.suggested_fix.diff) if not known(p, evidence_files)]
    if strangers and analysis.confidence > LOW_CONFIDENCE_CAP:
        return analysis.model_copy(update={"confidence": LOW_CONFIDENCE_CAP})
    return analysis
