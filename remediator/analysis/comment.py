"""The seed's analysis comment on the Sentry issue, from a validated analysis."""

from __future__ import annotations

import re

from remediator.analysis.model import Analysis


def _fence(text: str) -> str:
    """A code fence longer than any run of backticks in the text (it cannot close early)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def analysis_comment(analysis: Analysis, analyzer: str, job_url: str) -> str:
    """`## 🤖 AI Analysis` with root cause, the fix in a code block, impact, urgency,
    confidence and the job's link."""
    fix = analysis.suggested_fix
    code = fix.diff or ""
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
        "",
        f"_Analysed by remediator ({analyzer}); job: {job_url}_",
    ]
    return "\n".join(lines)
