"""The autofix ladder, decided without I/O: how far an analysis's fix goes by its confidence,
capped by the repository's max_depth and by what the answer allows, said in the comment."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from remediator.analysis.autofix_rung import rung
from remediator.analysis.comment import analysis_comment
from remediator.analysis.model import Analysis
from remediator.rules.repositories import AutofixLadder

DIFF = "--- a/app/cart.py\n+++ b/app/cart.py\n@@ -1 +1 @@\n-a\n+b\n"


def analysis(confidence: int, diff: str | None = DIFF, can_auto_fix: bool = True) -> Analysis:
    return Analysis.model_validate(
        {
            "root_cause": "average() divides by zero for an empty cart",
            "suggested_fix": {"language": "python", "explanation": "guard it", "diff": diff},
            "impact": "checkout fails",
            "urgency": "high",
            "confidence": confidence,
            "can_auto_fix": can_auto_fix,
            "files": ["app/cart.py"],
        }
    )


@pytest.mark.parametrize(
    ("confidence", "expected"),
    [(49, "analysis"), (50, "suggest"), (69, "suggest"), (70, "branch"), (84, "branch"), (85, "draft_pr")],
)
def test_each_threshold_starts_its_rung(confidence: int, expected: str) -> None:
    assert rung(analysis(confidence), AutofixLadder(), draft_pr_default=85).name == expected


def test_the_rung_says_why_it_was_reached() -> None:
    assert rung(analysis(40), AutofixLadder(), 85).why == "confidence 40 is under suggest_at 50"
    assert rung(analysis(75), AutofixLadder(), 85).why == "confidence 75 reaches branch_at 70"


def test_max_depth_caps_the_rung_and_says_so() -> None:
    reached = rung(analysis(99), AutofixLadder(max_depth="suggest"), 85)
    assert reached.name == "suggest"
    assert reached.why == "confidence 99 reaches draft_pr_at 85, capped by the repository's max_depth suggest"


def test_the_setting_is_draft_pr_at_when_the_repository_sets_none() -> None:
    assert rung(analysis(90), AutofixLadder(), draft_pr_default=95).name == "branch"
    assert rung(analysis(90), AutofixLadder(draft_pr_at=90), draft_pr_default=95).name == "draft_pr"


def test_without_a_diff_or_can_auto_fix_nothing_is_pushed() -> None:
    assert rung(analysis(95, diff=None), AutofixLadder(), 85).name == "analysis"
    assert rung(analysis(95, can_auto_fix=False), AutofixLadder(), 85).name == "suggest"


def test_a_project_without_a_repository_gets_the_suggestion_only() -> None:
    reached = rung(analysis(95), None, 85)
    assert reached.name == "suggest" and "no repository" in reached.why


def test_a_ladder_whose_thresholds_fall_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"branch_at \(40\) is below suggest_at \(50\)"):
        AutofixLadder(branch_at=40)
    with pytest.raises(ValidationError, match=r"draft_pr_at \(60\) is below branch_at \(70\)"):
        AutofixLadder(draft_pr_at=60)


def test_below_suggest_at_the_comment_gives_the_root_cause_without_the_diff() -> None:
    low = analysis(40)
    text = analysis_comment(low, "llm: m", "http://r/jobs/1", rung(low, AutofixLadder(), 85))
    assert "```diff" not in text and "+b" not in text
    assert "**Automation:** the root cause only (confidence 40 is under suggest_at 50)" in text
    high = analysis(60)
    assert "```diff" in analysis_comment(high, "llm: m", "http://r/jobs/1", rung(high, AutofixLadder(), 85))
