"""The seed's analysis comment on the Sentry issue, from a validated analysis."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from remediator.analysis.autofix_rung import Rung
from remediator.analysis.memory import Memory
from remediator.analysis.model import Analysis


def _fence(text: str) -> str:
    """A code fence longer than any run of backticks in the text (it cannot close early)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


RUNG_WORDS = {
    "analysis": "the root cause only",
    "suggest": "the suggested fix, for a person to apply",
    "branch": "the fix, once the project's tests pass, pushed to a new branch (no pull request)",
    "draft_pr": "the fix, once the project's tests pass, as a draft pull request",
}
"""What each rung of the autofix ladder does, as the comment says it."""


def analysis_comment(analysis: Analysis, analyzer: str, job_url: str, automation: Rung | None = None) -> str:
    """`## 🤖 AI Analysis` with root cause, the fix in a code block, impact, urgency,
    confidence, how far automation goes (and why) and the job's link. Below the ladder's
    `suggest` rung the diff is left out."""
    fix = analysis.suggested_fix
    code = (fix.diff or "") if automation is None or automation.shows_diff else ""
    language = "diff" if fix.diff else re.sub(r"[^A-Za-z0-9+#-]", "", fix.language)[:20]
    fence = _fence(code)
    lines = [
        "## 🤖 AI Analysis",
        "",
        f"**Root cause:** {analysis.root_cause}",
        "",
        f"**Suggested fix:** {fix.explanation}",
    ]
    if code:
        lines += ["", f"{fence}{language}", code.rstrip("\n"), fence]
    lines += [
        "",
        f"**Impact:** {analysis.impact}",
        f"**Urgency:** {analysis.urgency} · **Confidence:** {analysis.confidence}%"
        + (" · can be fixed automatically" if analysis.can_auto_fix else ""),
        *([f"**Automation:** {RUNG_WORDS[automation.name]} ({automation.why})"] if automation else []),
        *([f"**Suspect commit:** `{analysis.suspect_commit}`"] if analysis.suspect_commit else []),
        "",
        f"_Analysed by remediator ({analyzer}); job: {job_url}_",
    ]
    return "\n".join(lines)


def similar_issues_section(memories: list[Memory], issue_url: Callable[[str], str]) -> str:
    """The comment's lines linking what fixed similar issues before (none: nothing)."""
    if not memories:
        return ""
    lines = ["", "", "**Fixes of similar issues before** (shown to the model):"]
    for memory in memories:
        held = "held (verified)" if memory.outcome == "verified" else "did not hold (ineffective)"
        lines.append(f"- [{memory.issue_id}]({issue_url(memory.issue_id)}): {memory.fix[:200]} — {held}")
    return "\n".join(lines)


def seer_comment(record: dict[str, Any], job_url: str) -> str:
    """The analysis comment for a Seer run: its root cause, solution and pull requests."""
    cause = record.get("root_cause") or {}
    solution = record.get("solution") or {}
    lines = ["## 🤖 AI Analysis", "", f"**Root cause (Seer):** {cause.get('description') or 'not reached'}"]
    if solution.get("description"):
        lines += ["", f"**Suggested fix (Seer):** {solution['description']}"]
    for entry in record.get("pull_requests") or ():
        url = (entry.get("pull_request") or {}).get("pr_url")
        if url:
            lines += ["", f"**Pull request:** {url}"]
    lines += [
        "",
        f"_Seer Autofix run {record.get('run_id')}, stopped at {record.get('stopping_point')}; "
        f"job: {job_url}_",
    ]
    return "\n".join(lines)
