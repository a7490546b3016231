"""Is the analyzer any good? A labelled set of production errors (issue, latest event, the
expected cause and file), each analysed as a job would be, each scored: does the root cause
name the expected cause, and does the answer name the expected file."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from remediator.analysis.evidence import Evidence, evidence_from
from remediator.analysis.model import Analysis, known
from remediator.errors import AnalyzerUnavailable, RemediatorError


class Analyzer(Protocol):
    name: str

    def analyze(self, evidence: Evidence) -> Any: ...


@dataclass
class Case:
    """One labelled error."""

    name: str
    language: str
    source: str
    issue: dict[str, Any]
    event: dict[str, Any]
    cause_mentions: list[str]
    """The root cause names the cause when it mentions any of these (case-insensitive)."""
    file: str


@dataclass
class Score:
    case: str
    language: str
    cause: bool
    file: bool
    error: str | None = None
    confidence: int | None = None
    unavailable: bool = False
    """The endpoint did not answer: the case measured nothing about the model."""

    @property
    def passed(self) -> bool:
        return self.cause and self.file


def load_cases(folder: Path) -> list[Case]:
    """Every `*.json` case in a folder, in name order."""
    cases = []
    for path in sorted(folder.glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        expect = document["expect"]
        cases.append(
            Case(
                name=document["name"],
                language=document["language"],
                source=document["source"],
                issue=document["issue"],
                event=document["event"],
                cause_mentions=list(expect["cause_mentions"]),
                file=expect["file"],
            )
        )
    if not cases:
        raise RemediatorError(f"no cases (*.json) in {folder}")
    return cases


def score(case: Case, analysis: Analysis) -> Score:
    """Whether an analysis names the case's cause and file."""
    cause = any(word.lower() in analysis.root_cause.lower() for word in case.cause_mentions)
    named = set(analysis.files) | set(_diff_paths(analysis)) | _paths_in(analysis.root_cause)
    return Score(
        case.name,
        case.language,
        cause,
        known(case.file, named) or case.file in analysis.root_cause,
        confidence=analysis.confidence,
    )


def _diff_paths(analysis: Analysis) -> list[str]:
    from remediator.analysis.model import diff_files

    return sorted(diff_files(analysis.suggested_fix.diff))


def _paths_in(text: str) -> set[str]:
    return {word.strip("`'\"(),.:") for word in text.split() if "/" in word or "." in word}


def evaluate(cases: list[Case], analyzer: Analyzer) -> list[Score]:
    """Analyse every case; an analysis that could not be made scores nothing, with why."""
    scores = []
    for case in cases:
        evidence = evidence_from(case.issue, case.event)
        try:
            outcome = analyzer.analyze(evidence)
        except RemediatorError as exc:
            down = isinstance(exc, AnalyzerUnavailable)
            scores.append(
                Score(case.name, case.language, False, False, error=str(exc)[:300], unavailable=down)
            )
            continue
        scores.append(score(case, outcome.analysis))
    return scores


def summary(scores: list[Score]) -> dict[str, Any]:
    """Totals, overall and per language."""

    def part(items: list[Score]) -> dict[str, int]:
        return {
            "cases": len(items),
            "cause": sum(s.cause for s in items),
            "file": sum(s.file for s in items),
            "both": sum(s.passed for s in items),
            "no_analysis": sum(s.error is not None for s in items),
        }

    languages = sorted({s.language for s in scores})
    return {
        "total": part(scores),
        **{lang: part([s for s in scores if s.language == lang]) for lang in languages},
    }
