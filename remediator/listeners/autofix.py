"""A confident analysis becomes an `apply-ai-fix` job: nonprod, class C, namespace
`auto-fix`, through the same gate as every job (dedup, once per issue an hour, at most 20 an
hour, approval when the repository says so)."""

from __future__ import annotations

from typing import Any

from remediator.defaults import PriorityClass
from remediator.dispatch import dispatcher_for
from remediator.lifecycle import Event, Lifecycle, Listener, ListenerContext
from remediator.payloads import Subject
from remediator.rules.engine import JobSpec

ANALYSIS_SCRIPT = "analyze-production-error"
FIX_SCRIPT = "apply-ai-fix"
PUSHING_RUNGS = ("branch", "draft_pr")
"""The rungs of the autofix ladder at which a fix is tested and pushed."""
FIX_RULE = "auto-fix"
"""The rule name fix jobs are recorded under (their throttles and breaker count per it)."""


def eligible(output: dict[str, Any] | None, min_confidence: int) -> dict[str, Any] | None:
    """The analysis of a job's output, if it asks for an automatic fix: its autofix rung is
    `branch` or `draft_pr` (a record from before the ladder: confident enough, fixable, with
    a diff)."""
    analysis = (output or {}).get("analysis")
    if not isinstance(analysis, dict):
        return None
    recorded = (output or {}).get("autofix")
    if isinstance(recorded, dict):
        fix = analysis.get("suggested_fix") or {}
        return analysis if recorded.get("rung") in PUSHING_RUNGS and fix.get("diff") else None
    fix = analysis.get("suggested_fix") or {}
    if (
        analysis.get("can_auto_fix") is True
        and fix.get("diff")
        and int(analysis.get("confidence", 0)) >= min_confidence
    ):
        return analysis
    return None


class AutoFix(Listener):
    """On a succeeded analysis: submit the fix when it qualifies (remote: it queues a job)."""

    name = "autofix"
    remote = True

    @classmethod
    def active(cls, ctx: ListenerContext) -> bool:
        """Only in a process that runs a rule file (whether it has repositories now is
        for `accepts`: the file may be reloaded)."""
        return ctx.rules is not None

    def accepts(self, event: Event) -> bool:
        """Analyses whose project maps to a repository, and confident enough."""
        job = event.job
        rules = self.ctx.current_rules()
        return (
            job is not None
            and rules is not None
            and job.script == ANALYSIS_SCRIPT
            and rules.repository_for(job.sentry_project) is not None
            and eligible(job.output, self.ctx.settings.autofix_min_confidence) is not None
        )

    def on_succeeded(self, event: Event) -> str | None:
        """Submit apply-ai-fix for the analysed issue."""
        job = event.job
        rules = self.ctx.current_rules()
        if job is None or rules is None:
            return None
        analysis = eligible(job.output, self.ctx.settings.autofix_min_confidence)
        repository = rules.repository_for(job.sentry_project)
        if analysis is None or repository is None:
            return None
        issue = job.sentry_issue_id or job.id
        spec = JobSpec(
            rule=FIX_RULE,
            script=FIX_SCRIPT,
            tier="nonprod",
            priority_class=PriorityClass.C,
            namespace="auto-fix",
            params={
                "diff": analysis["suggested_fix"]["diff"],
                "root_cause": analysis.get("root_cause", ""),
                "explanation": analysis["suggested_fix"].get("explanation", ""),
                "confidence": analysis.get("confidence", 0),
                "analysis_job": job.id,
                "project": job.sentry_project,
                **_rung_params(job.output),
            },
            verification="none",
            key=f"issue:{issue}",
            once_within=3600.0,
            max_runs=(20, 3600.0),
            approval=repository.approval,
        )
        subject = Subject(
            resource="analysis",
            action="fix",
            title=job.sentry_title or "",
            project=job.sentry_project or "",
            issue_id=job.sentry_issue_id,
            tags=dict(job.sentry_tags),
        )
        lifecycle = Lifecycle(self.ctx.store, self.ctx.bus)
        fix = dispatcher_for(self.ctx.settings, self.ctx.celery, lifecycle).submit(spec, subject)
        return f"apply-ai-fix job {fix.id}: {fix.status.value}"


def _rung_params(output: dict[str, Any] | None) -> dict[str, Any]:
    """What the fix job needs of the analysis's rung: whether it opens a pull request, and why."""
    recorded = (output or {}).get("autofix")
    if not isinstance(recorded, dict):
        return {}
    return {"pull_request": recorded.get("rung") == "draft_pr", "rung_why": str(recorded.get("why") or "")}
