"""`analyze-production-error`: read the issue and its latest event from Sentry, redact, ask
the configured analyzer, validate its answer, and post the seed's analysis comment. An
analysis never resolves the issue (verification `none`)."""

from __future__ import annotations

import contextlib
import time
from dataclasses import asdict
from typing import Any

from pydantic import BaseModel, ConfigDict

from remediator.analysis import seer
from remediator.analysis.autofix_rung import rung
from remediator.analysis.code_context import code_context
from remediator.analysis.comment import analysis_comment, seer_comment, similar_issues_section
from remediator.analysis.evidence import evidence_from
from remediator.analysis.llm import LlmAnalyzer
from remediator.analysis.memory import MemoryStore, Signature
from remediator.analysis.spend import add_spend, analysed_at, cost, mark_analysed, spent_today
from remediator.errors import JobFailed, JobSkipped, NoValidAnswer, ScriptNotConfigured
from remediator.payloads import issue_types
from remediator.rules.analysis_gate import AnalysisGate, refusal
from remediator.scripts import Script, ScriptContext
from remediator.sentry.api import SentryApi, SentryApiError


def _refuse_without_code(issue_id: str, issue: dict[str, Any]) -> None:
    """A cron monitor's missed check-in or a domain that is down has no stack trace or
    spans to analyse: say so before any model is asked (route such issues to a restart
    or health-check job)."""
    category = str(issue.get("issueCategory") or "")
    if category in issue_types.NO_CODE_CATEGORIES:
        kind = str(issue.get("issueType") or category)
        raise JobFailed(
            f"issue {issue_id} is a {category} issue ({kind}): it carries no code to analyse, "
            "so no model was asked; route it to a restart or health-check job"
        )


def _gate(ctx: ScriptContext, issue_id: str, issue: dict[str, Any]) -> None:
    """Skip the job, before any model call, when the issue is below its rule's analysis gate."""
    gate = ctx.rules.analysis_gate(ctx.job.rule) if ctx.rules is not None else AnalysisGate()
    last = analysed_at(ctx.redis, issue_id) if ctx.redis is not None else None
    reason = refusal(gate, issue, time.time(), last)
    if reason is not None:
        raise JobSkipped(f"{reason}: nothing was sent to a model")


def _within_budget(ctx: ScriptContext) -> None:
    """Skip the job, before any model call, when today's token budget is spent."""
    budget = ctx.settings.analysis_daily_tokens
    if budget is None or ctx.redis is None:
        return
    spent = spent_today(ctx.redis)
    if spent >= budget:
        raise JobSkipped(
            f"daily token budget spent: {spent} of {budget} tokens today (UTC; "
            "REMEDIATOR_ANALYSIS_DAILY_TOKENS): nothing was sent to a model"
        )


def _record_spend(ctx: ScriptContext, prompt_tokens: int, completion_tokens: int) -> float | None:
    """Count a model call's tokens against the day's budget and the rule's spend; its cost
    at the configured price (None without one)."""
    spent = cost(ctx.settings.llm_price_per_1k_tokens, prompt_tokens, completion_tokens)
    if ctx.redis is not None:
        add_spend(ctx.redis, ctx.job.rule, prompt_tokens + completion_tokens, spent)
    return spent


class AnalysisParams(BaseModel):
    """The issue to analyse (default: the job's); the example rules also pass the error's
    type and culprit, which the evidence holds anyway."""

    model_config = ConfigDict(extra="ignore")

    sentry_issue_id: str | None = None


class AnalyzeProductionError(Script):
    """Root-cause analysis of a production error, commented on the issue."""

    name = "analyze-production-error"
    description = "Ask the configured analyzer (REMEDIATOR_ANALYZER) about a production error; comment it."
    Params = AnalysisParams
    time_limit = 2400
    """Room for a Seer run (REMEDIATOR_SEER_TIMEOUT, at most 2300 s); a model call takes far less."""
    idempotent = True
    verification = "none"
    follows_seer_runs = True

    def run(self, params: AnalysisParams, ctx: ScriptContext) -> dict[str, Any]:
        """Read, redact, ask, validate, comment."""
        settings = ctx.settings
        if settings.analyzer == "none":
            raise ScriptNotConfigured(
                "no analyzer configured: set REMEDIATOR_ANALYZER=llm (with REMEDIATOR_LLM_BASE_URL and "
                "REMEDIATOR_LLM_MODEL) or REMEDIATOR_ANALYZER=seer; nothing was analysed"
            )
        if settings.analyzer != "seer" and not (settings.llm_base_url and settings.llm_model):
            raise ScriptNotConfigured(
                "REMEDIATOR_ANALYZER=llm needs REMEDIATOR_LLM_BASE_URL and REMEDIATOR_LLM_MODEL"
            )
        if ctx.sentry is None:
            raise ScriptNotConfigured(
                "the analysis reads the issue from Sentry: "
                "set REMEDIATOR_SENTRY_AUTH_TOKEN and REMEDIATOR_SENTRY_ORG"
            )
        issue_id = params.sentry_issue_id or ctx.issue_id
        if not issue_id:
            raise JobFailed("no Sentry issue to analyse (the job names none)")

        started = time.monotonic()
        try:
            issue = ctx.sentry.get_issue(issue_id)
            _refuse_without_code(issue_id, issue)
            _gate(ctx, issue_id, issue)
            if settings.analyzer == "seer":
                ctx.step("read the issue", True, started, category=issue.get("issueCategory"))
                return self._seer(ctx, ctx.sentry, issue_id)
            event = ctx.sentry.latest_event(issue_id)
        except SentryApiError as exc:
            ctx.step("read the issue", False, started, error=str(exc))
            raise JobFailed(f"could not read issue {issue_id} from Sentry: {exc}") from None
        evidence = evidence_from(issue, event, allow_vars=settings.analysis_frame_vars)
        _refuse_without_code(issue_id, {"issueCategory": evidence.issue_category, **issue})
        frames = sum(len(e.frames) for e in evidence.exceptions)
        ctx.step(
            "read the issue and its latest event",
            True,
            started,
            category=evidence.issue_category,
            exceptions=len(evidence.exceptions),
            frames=frames,
            spans=len(evidence.spans),
            occurrence=evidence.occurrence is not None,
        )

        _within_budget(ctx)
        started = time.monotonic()
        analyzer = LlmAnalyzer.from_settings(settings)
        signature = Signature.of_issue(issue)
        memories = (
            MemoryStore(ctx.redis, settings.job_retention_days * 86400).closest(signature)
            if ctx.redis is not None
            else []
        )
        code = None
        repository = (
            ctx.rules.repository_for(ctx.job.sentry_project or evidence.project) if ctx.rules else None
        )
        if repository is not None and repository.analysis_context_tokens > 0:
            started_code = time.monotonic()
            context = code_context(repository, settings.data_dir, evidence)
            code = context.for_prompt()
            ctx.step(
                "read the code behind the trace",
                context.note is None or bool(context.files),
                started_code,
                commit=context.commit,
                commit_from=context.commit_from,
                files=[f["path"] for f in context.files],
                suspect_commits=[c["sha"][:12] for c in context.suspect_commits],
                note=context.note,
            )
            offered = {c["sha"] for c in context.suspect_commits}
        else:
            offered = set()
        try:
            outcome = analyzer.analyze(evidence, [m.for_prompt() for m in memories], code)
        except NoValidAnswer as exc:
            # Answers that never validated were paid for all the same.
            spent = _record_spend(ctx, exc.prompt_tokens, exc.completion_tokens)
            ctx.step(
                "analyse",
                False,
                started,
                error=str(exc),
                analyzer=analyzer.name,
                model=exc.model,
                prompt_tokens=exc.prompt_tokens,
                completion_tokens=exc.completion_tokens,
                cost=spent,
            )
            raise
        except JobFailed as exc:
            ctx.step("analyse", False, started, error=str(exc))
            raise
        tokens = outcome.prompt_tokens + outcome.completion_tokens
        spent = _record_spend(ctx, outcome.prompt_tokens, outcome.completion_tokens)
        ctx.step("analyse", True, started, model=outcome.model, attempts=outcome.attempts, tokens=tokens)

        blamed = outcome.analysis.suspect_commit
        if blamed and not any(sha.startswith(blamed.lower()) for sha in offered):
            # A commit the evidence never offered is not named as the culprit.
            outcome.analysis = outcome.analysis.model_copy(update={"suspect_commit": None})
        automation = rung(
            outcome.analysis, repository.autofix if repository else None, settings.autofix_min_confidence
        )
        started = time.monotonic()
        text = analysis_comment(
            outcome.analysis, f"{outcome.analyzer}: {outcome.model}", settings.job_url(ctx.job_id), automation
        ) + similar_issues_section(memories, settings.sentry_issue_url)
        try:
            ctx.sentry.add_comment(issue_id, text)
        except SentryApiError as exc:
            ctx.step("comment on the issue", False, started, error=str(exc))
            raise JobFailed(f"the analysis was made but could not be posted: {exc}") from None
        ctx.step("comment on the issue", True, started)
        if ctx.redis is not None:
            mark_analysed(ctx.redis, issue_id, settings.job_retention_days * 86400)
        return {
            **outcome.record(),
            "autofix": automation.record(),
            "signature": asdict(signature),
            "similar_before": [{"issue": m.issue_id, "outcome": m.outcome, "job": m.job} for m in memories],
            "cost": spent,
            "issue_id": issue_id,
            "commented": True,
        }

    @staticmethod
    def _seer(ctx: ScriptContext, api: SentryApi, issue_id: str) -> dict[str, Any]:
        """Start Seer Autofix, follow its webhooks to the tier's stopping point, comment."""
        settings = ctx.settings
        if ctx.redis is None:
            raise ScriptNotConfigured(
                "the seer analyzer follows its run through Redis, which this context lacks"
            )
        stop = settings.seer_stopping_points.get(ctx.tier, "root_cause")
        started = time.monotonic()
        run_id = seer.start(api, ctx.redis, ctx.job_id, issue_id, stop)
        ctx.step("start Seer Autofix", True, started, run_id=run_id, stopping_point=stop)
        started = time.monotonic()
        run = seer.wait(ctx.redis, ctx.job_id, seer.SeerRun(run_id, stop), settings.seer_timeout)
        ctx.step("Seer reached its stopping point", True, started, stages=[s["action"] for s in run.stages])
        record = run.record()
        with contextlib.suppress(SentryApiError):  # Seer's own results are in Sentry either way
            api.add_comment(issue_id, seer_comment(record, settings.job_url(ctx.job_id)))
        return {**record, "issue_id": issue_id}
