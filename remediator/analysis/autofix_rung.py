"""How far automation goes for one analysis: the rung of its repository's ladder that its
confidence reaches (analysis, suggest, branch, draft_pr), capped by the ladder's max_depth and
by what the answer allows, with the reason in words. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from remediator.analysis.model import Analysis
from remediator.rules.repositories import RUNGS, AutofixLadder


@dataclass(frozen=True)
class Rung:
    """The rung reached, and why."""

    name: str
    why: str

    @property
    def shows_diff(self) -> bool:
        """Whether the comment carries the suggested diff."""
        return self.name != "analysis"

    @property
    def pushes(self) -> bool:
        """Whether the fix is tested and pushed to a new branch."""
        return self.name in ("branch", "draft_pr")

    def record(self) -> dict[str, str]:
        return {"rung": self.name, "why": self.why}


def rung(analysis: Analysis, ladder: AutofixLadder | None, draft_pr_default: int) -> Rung:
    """The rung an analysis reaches. ladder None: the project maps to no repository (the
    comment carries the diff, as before ladders; nothing can be pushed)."""
    confidence = analysis.confidence
    has_diff = bool(analysis.suggested_fix.diff)
    if ladder is None:
        if not has_diff:
            return Rung("analysis", "the answer has no diff")
        return Rung("suggest", "no repository in the rule file for this project: nothing can be pushed")
    draft_pr_at = ladder.draft_pr_at if ladder.draft_pr_at is not None else draft_pr_default
    thresholds = {"suggest": ladder.suggest_at, "branch": ladder.branch_at, "draft_pr": draft_pr_at}
    reached = "analysis"
    for name in RUNGS[1:]:
        if confidence >= thresholds[name]:
            reached = name
    why = (
        f"confidence {confidence} is under suggest_at {thresholds['suggest']}"
        if reached == "analysis"
        else f"confidence {confidence} reaches {reached}_at {thresholds[reached]}"
    )
    if RUNGS.index(reached) > RUNGS.index(ladder.max_depth):
        reached, why = ladder.max_depth, f"{why}, capped by the repository's max_depth {ladder.max_depth}"
    if reached != "analysis" and not has_diff:
        return Rung("analysis", f"{why}, but the answer has no diff")
    if RUNGS.index(reached) > RUNGS.index("suggest") and not analysis.can_auto_fix:
        return Rung(
            "suggest", f"{why}, but the answer says the diff alone does not fix it (can_auto_fix false)"
        )
    return Rung(reached, why)
