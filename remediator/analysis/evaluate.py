"""Is the analyzer any good? A labelled set of production errors (issue, latest event, the
expected cause and file), each analysed as a job would be, each scored: does the root cause
name the expected cause, and does the answer name the expected file. A case with a
repository snapshot (analysis.snapshot) is analysed with the code behind its stack trace, as
a job for a mapped repository is, and scored on the suspect commit it blames too."""

from __future__ import annotations

import json
import math
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from remediator.analysis import snapshot
from remediator.analysis.code_context import CodeContext, code_context
from remediator.analysis.evidence import Evidence, evidence_from
from remediator.analysis.model import Analysis, known
from remediator.analysis.spend import cost
from remediator.errors import AnalyzerUnavailable, NoValidAnswer, RemediatorError
from remediator.rules.repositories import Repository


class Analyzer(Protocol):
    name: str

    def analyze(
        self,
        evidence: Evidence,
        similar: list[dict[str, Any]] | None = None,
        code: dict[str, Any] | None = None,
    ) -> Any: ...


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
    cause: str | None = None
    """The cause in a sentence, for a judge (default: the cause mentions)."""
    repository: dict[str, Any] | None = None
    """The case's repository: `snapshot` (its file, read), `github`, `release_ref_pattern`."""
    suspect_commit: str | None = None
    """The subject of the commit the analysis should blame (a case with a snapshot)."""


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
    points: int = 0
    """On the 4-point scale (100, 65, 35, 0), by the expected cause and file."""
    judge_points: int | None = None
    """The judge model's grade on the same scale, when a judge was asked."""
    judge_reason: str | None = None
    iteration: int = 1
    seconds: float = 0.0
    tokens: int = 0
    cost: float | None = None
    code_files: list[str] = field(default_factory=list)
    """The repository's files the analysis was shown (a case with a snapshot)."""
    suspects_offered: int = 0
    suspect: bool | None = None
    """Whether it blamed the expected commit (None: the case expects none, or had no code)."""

    @property
    def final_points(self) -> int:
        """The judge's grade when there is one, else the expected cause and file's."""
        return self.judge_points if self.judge_points is not None else self.points

    @property
    def passed(self) -> bool:
        return self.cause and self.file


def load_cases(folder: Path) -> list[Case]:
    """Every `*.json` case in a folder, in name order."""
    cases = []
    for path in sorted(folder.glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        expect = document["expect"]
        repository = document.get("repository")
        if repository is not None:
            repository = {**repository, "snapshot": snapshot.load(folder / repository["snapshot"])}
            subjects = {c["message"].splitlines()[0] for c in repository["snapshot"]["commits"]}
            if expect.get("suspect_commit") and expect["suspect_commit"] not in subjects:
                raise RemediatorError(
                    f"case {document['name']}: expect.suspect_commit is no commit of its snapshot"
                )
        cases.append(
            Case(
                name=document["name"],
                language=document["language"],
                source=document["source"],
                issue=document["issue"],
                event=document["event"],
                cause_mentions=list(expect["cause_mentions"]),
                file=expect["file"],
                cause=expect.get("cause"),
                repository=repository,
                suspect_commit=expect.get("suspect_commit"),
            )
        )
    if not cases:
        raise RemediatorError(f"no cases (*.json) in {folder}")
    return cases


def score(case: Case, analysis: Analysis) -> Score:
    """Whether an analysis names the case's cause and file, and its points on the 4-point
    scale by them: 100 both; 65 one of the two; 35 neither, but a file in the expected file's
    directory or its module's name (the right area); 0 none of it."""
    cause = any(word.lower() in analysis.root_cause.lower() for word in case.cause_mentions)
    named = set(analysis.files) | set(_diff_paths(analysis)) | _paths_in(analysis.root_cause)
    file = known(case.file, named) or case.file in analysis.root_cause
    if cause and file:
        points = 100
    elif cause or file:
        points = 65
    elif _same_area(case.file, named, analysis.root_cause):
        points = 35
    else:
        points = 0
    return Score(case.name, case.language, cause, file, confidence=analysis.confidence, points=points)


def _same_area(expected: str, named: set[str], text: str) -> bool:
    folder, _, name = expected.rpartition("/")
    stem = name.rsplit(".", 1)[0]
    in_folder = bool(folder) and any(p.lstrip("./").rpartition("/")[0].endswith(folder) for p in named)
    return in_folder or (len(stem) > 3 and stem.lower() in text.lower())


def _diff_paths(analysis: Analysis) -> list[str]:
    from remediator.analysis.model import diff_files

    return sorted(diff_files(analysis.suggested_fix.diff))


def _paths_in(text: str) -> set[str]:
    return {word.strip("`'\"(),.:") for word in text.split() if "/" in word or "." in word}


class CaseRepositories:
    """The cases' repositories, each built from its snapshot once (under `root`) and read the
    way a job reads a mapped repository: a bare mirror under `root`, the files at the release's
    commit, the suspect commits before it."""

    def __init__(self, root: Path, context_tokens: int | None = None) -> None:
        self.root = root
        self.context_tokens = context_tokens
        """Each repository's analysis_context_tokens (None: the default, as a job's)."""
        self._built: dict[str, tuple[Repository, dict[str, str]]] = {}

    def _repository(self, case: Case) -> tuple[Repository, dict[str, str]]:
        if case.name not in self._built:
            assert case.repository is not None
            work = self.root / "repositories" / case.name
            shas = snapshot.build(case.repository["snapshot"], work)
            budget = {} if self.context_tokens is None else {"analysis_context_tokens": self.context_tokens}
            repository = Repository(
                project=case.issue.get("project", {}).get("slug") or case.name,
                clone_url=str(work),
                github=case.repository.get("github") or f"eval/{case.name}",
                default_branch=case.repository["snapshot"].get("default_branch") or "main",
                test_command=("true",),  # never run: the eval fixes nothing
                fix_paths=("**",),
                release_ref_pattern=case.repository.get("release_ref_pattern"),
                **budget,
            )
            self._built[case.name] = (repository, shas)
        return self._built[case.name]

    def code(self, case: Case, evidence: Evidence) -> tuple[CodeContext, str | None]:
        """The code behind the case's stack trace, and the SHA of the commit it expects blamed."""
        repository, shas = self._repository(case)
        data_dir = self.root / "data" / case.name
        return code_context(repository, data_dir, evidence), shas.get(case.suspect_commit or "")


def evaluate(
    cases: list[Case],
    analyzer: Analyzer,
    judge: Any = None,
    iteration: int = 1,
    price: tuple[float, float] | None = None,
    repositories: CaseRepositories | None = None,
) -> list[Score]:
    """Analyse every case (once: `iteration` numbers the round); an analysis that could not
    be made scores nothing, with why. With a judge (analysis.judge), each analysis is graded
    by it too. With `repositories`, a case with a snapshot is shown the code behind its trace
    (without, it has the stack trace alone, as a job for an unmapped project has)."""
    scores = []
    for case in cases:
        evidence = evidence_from(case.issue, case.event)
        context: CodeContext | None = None
        expected_sha = None
        if repositories is not None and case.repository is not None and repositories.context_tokens != 0:
            context, expected_sha = repositories.code(case, evidence)
        shown = [f["path"] for f in context.files] if context else []
        offered = len(context.suspect_commits) if context else 0
        started = time.monotonic()
        try:
            outcome = analyzer.analyze(evidence, None, context.for_prompt() if context else None)
        except RemediatorError as exc:
            down = isinstance(exc, AnalyzerUnavailable)
            # Answers that never validated were paid for: their tokens count.
            used = (exc.prompt_tokens, exc.completion_tokens) if isinstance(exc, NoValidAnswer) else (0, 0)
            scores.append(
                Score(
                    case.name,
                    case.language,
                    False,
                    False,
                    error=str(exc)[:300],
                    unavailable=down,
                    iteration=iteration,
                    seconds=time.monotonic() - started,
                    tokens=sum(used),
                    cost=cost(price, *used) if any(used) else None,
                    code_files=shown,
                    suspects_offered=offered,
                    suspect=False if expected_sha else None,
                )
            )
            continue
        result = score(case, outcome.analysis)
        result.iteration, result.seconds = iteration, outcome.seconds
        result.tokens = outcome.prompt_tokens + outcome.completion_tokens
        result.cost = cost(price, outcome.prompt_tokens, outcome.completion_tokens)
        result.code_files, result.suspects_offered = shown, offered
        if expected_sha is not None:
            blamed = (outcome.analysis.suspect_commit or "").lower()
            result.suspect = len(blamed) >= 7 and expected_sha.startswith(blamed)
        if judge is not None:
            try:
                judged = judge.grade(
                    case.cause or "; ".join(case.cause_mentions), case.file, outcome.analysis
                )
                result.judge_points, result.judge_reason = judged.points, judged.reason
            except RemediatorError as exc:
                result.judge_reason = f"no grade: {exc}"[:300]
        scores.append(result)
    return scores


def report(scores: list[Score]) -> dict[str, Any]:
    """Per model: the mean points and their spread over the iterations, the bullseye rate
    (100s), the invalid answers, tokens and cost (invalid answers' included: they were paid
    for), latency (p50, p95 of the answered cases); how many case runs were shown code, and of
    those that expect a suspect commit, how many blamed it (an invalid answer blamed nothing)."""
    rounds = sorted({s.iteration for s in scores})
    means = [statistics.fmean(s.final_points for s in scores if s.iteration == r) for r in rounds]
    answered = sorted(s.seconds for s in scores if s.error is None)
    costs = [s.cost for s in scores if s.cost is not None]
    judged = [s for s in scores if s.judge_points is not None]
    return {
        "iterations": len(rounds),
        "case_runs": len(scores),
        "mean_points": round(statistics.fmean(means), 1) if means else 0.0,
        "spread": [round(min(means), 1), round(max(means), 1)] if means else [0.0, 0.0],
        "bullseye_rate": round(sum(s.final_points == 100 for s in scores) / len(scores), 3)
        if scores
        else 0.0,
        "invalid_answers": sum(s.error is not None and not s.unavailable for s in scores),
        "unavailable": sum(s.unavailable for s in scores),
        "tokens": sum(s.tokens for s in scores),
        "cost": round(sum(costs), 6) if costs else None,
        "latency_p50_s": round(_percentile(answered, 50), 2),
        "latency_p95_s": round(_percentile(answered, 95), 2),
        "judged": len(judged),
        "judge_agrees": sum(s.judge_points == s.points for s in judged),
        "with_code": sum(bool(s.code_files) for s in scores),
        "suspect_expected": sum(s.suspect is not None for s in scores),
        "suspect_right": sum(bool(s.suspect) for s in scores),
    }


def _percentile(ordered: list[float], pct: float) -> float:
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, math.ceil(pct / 100 * len(ordered)) - 1))]


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
