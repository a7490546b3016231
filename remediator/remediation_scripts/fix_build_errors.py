"""`fix-build-errors`: rebuild the failing commit in a fresh workspace; if it still fails, try
the repository's deterministic fixers, then (with an `llm` analyzer) a model's diff limited to
the files the errors name, rebuilding after each, at most three rounds. Green: a new
`remediator/build-fix-*` branch and a draft pull request against the failing branch. Red: a
comment saying what was tried and what still fails. It never pushes the default branch or the
failing branch."""

from __future__ import annotations

import contextlib
import shlex
import tempfile
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from remediator.analysis.llm import LlmAnalyzer
from remediator.analysis.prompt import build_fix_messages
from remediator.builds.parse import parse_output
from remediator.errors import JobFailed, ScriptNotConfigured
from remediator.fixes.guard import parse_diff, refusals
from remediator.fixes.pull_request import comment_on_pull, open_draft, pull_number
from remediator.fixes.workspace import BRANCH_PREFIX, TestRun, Workspace
from remediator.rules.repositories import Repository
from remediator.scripts import Script, ScriptContext
from remediator.sentry.api import SentryApiError

ROUNDS = 3
FILE_CHARS = 12_000
"""Characters of each file named in the errors that the model sees."""


class BuildParams(BaseModel):
    """Where the build failed; the event's tags and build context fill what is not given."""

    model_config = ConfigDict(extra="ignore")

    repository: str | None = None
    branch: str | None = None
    commit: str | None = None
    command: str | None = None
    pull_request: str | None = None


class FixBuildErrors(Script):
    """Make a failing build green on a new branch, or say exactly why not."""

    name = "fix-build-errors"
    description = "Rebuild, try fixers and a model's diff (3 rounds); a draft PR on a new branch, or why not."
    Params = BuildParams
    time_limit = 3600
    idempotent = False
    verification = "rebuild"

    def run(self, params: BuildParams, ctx: ScriptContext) -> dict[str, Any]:
        """Reproduce, fix in rounds, publish (or explain)."""
        build = self._facts(params, ctx)
        repository = self._repository(ctx, build)
        command = shlex.split(build["command"])
        with tempfile.TemporaryDirectory(prefix="remediator-build-") as root:
            workspace = Workspace(repository, Path(root), token=ctx.settings.github_token)
            started = time.monotonic()
            workspace.clone()
            commit = workspace.checkout(build["commit"] or f"origin/{build['branch']}")
            ctx.step("clone", True, started, commit=commit)
            result = self._build(ctx, workspace, command, "rebuild")
            if result.passed:
                return {
                    "reproducible": False,
                    "final_build_passed": False,
                    "detail": "not reproducible: the build passes at that commit",
                    "commit": commit,
                }
            attempts: list[dict[str, Any]] = []
            for round_ in range(1, ROUNDS + 1):
                errors, _ = parse_output(result.tail)
                changed = (
                    self._fixers(ctx, workspace)
                    if round_ == 1
                    else self._model_diff(ctx, workspace, build, errors, repository)
                )
                attempts.append(
                    {"round": round_, "by": "fixers" if round_ == 1 else "model", "changed": changed}
                )
                if not changed:
                    continue
                result = self._build(ctx, workspace, command, f"rebuild after round {round_}")
                attempts[-1]["passed"] = result.passed
                if result.passed:
                    break
            if not result.passed:
                remaining, _ = parse_output(result.tail)
                summary = "; ".join(
                    f"round {a['round']} ({a['by']}): {a['changed'] or 'nothing to try'}" for a in attempts
                )
                self._comment(
                    ctx,
                    f"The build still fails after {ROUNDS} rounds. Tried: {summary}.\n\n"
                    f"```\n{result.tail[-1500:]}\n```",
                )
                raise JobFailed(
                    f"the build still fails after {ROUNDS} rounds ({len(remaining)} errors left); "
                    f"tried: {summary}"
                )
            branch = f"{BRANCH_PREFIX}build-fix-{commit[:8]}-{ctx.job_id[:6]}"
            started = time.monotonic()
            workspace.branch(branch)
            fixed = workspace.commit(f"Fix the build of {commit[:12]}: {build['command'][:60]}")
            workspace.push(branch)
            stat = workspace.git("diff", "--stat", f"{commit}..{fixed}").strip()
            ctx.step("push", True, started, commit=fixed, branch=branch)
        base = build["branch"] or repository.default_branch
        tried = "\n".join(
            f"- round {a['round']} ({a['by']}): {a['changed']}" for a in attempts if a["changed"]
        )
        summary = f"{tried}\n\n```\n{stat[-2000:]}\n```"
        number = pull_number(build["pull_request"])
        if number is not None:
            # The build belonged to a pull request: tell it where the fix is, open nothing new.
            url = comment_on_pull(
                ctx.settings,
                repository,
                number,
                f"`{build['command']}` failed at {commit[:12]}; remediator made it pass on the "
                f"branch `{branch}` (not pushed to this pull request's branch):\n\n{summary}\n\n"
                f"Job: {ctx.settings.job_url(ctx.job_id)}",
            )
            pull = url.split("#", 1)[0]
            told = f"the fix is on `{branch}`, commented on pull request #{number}: {url}"
        else:
            pull = url = open_draft(
                ctx.settings,
                repository,
                branch,
                f"Fix the build: {build['command'][:150]}",
                f"`{build['command']}` failed at {commit[:12]} on {base}; remediator made it pass:"
                f"\n\n{summary}\n\nJob: {ctx.settings.job_url(ctx.job_id)}. A draft: review before merging.",
                base=base,
            )
            told = f"draft pull request {url}"
        self._comment(ctx, f"The build passes again on `{branch}`: {told}")
        return {
            "reproducible": True,
            "repository": repository.github,
            "branch": branch,
            "pull_request": pull,
            "pull_request_number": number if number is not None else pull_number(url),
            "attempts": attempts,
            "final_build_passed": True,
        }

    # -- the parts ----------------------------------------------------------------------------

    @staticmethod
    def _facts(params: BuildParams, ctx: ScriptContext) -> dict[str, Any]:
        tags = dict(ctx.job.sentry_tags)
        context: dict[str, Any] = {}
        if ctx.sentry is not None and ctx.issue_id and not params.command:
            with contextlib.suppress(SentryApiError):
                event = ctx.sentry.latest_event(ctx.issue_id)
                context = ((event.get("contexts") or {}).get("build")) or {}
                tags |= {t["key"]: t["value"] for t in event.get("tags") or () if isinstance(t, dict)}
        facts = {
            "repository": params.repository or tags.get("repository"),
            "branch": params.branch or tags.get("branch"),
            "commit": params.commit or tags.get("commit"),
            "command": params.command or context.get("command"),
            "pull_request": params.pull_request or tags.get("pull_request"),
        }
        if not facts["command"]:
            raise JobFailed(
                "which build failed is unknown: no command in the params or the event's build context"
            )
        if not (facts["commit"] or facts["branch"]):
            raise JobFailed(
                "which commit failed is unknown: no commit or branch in the params or the event's tags"
            )
        return facts

    @staticmethod
    def _repository(ctx: ScriptContext, build: dict[str, Any]) -> Repository:
        repos = ctx.rules.repositories if ctx.rules else ()
        for repository in repos:
            if repository.github == build["repository"] or repository.project == ctx.project:
                return repository
        raise ScriptNotConfigured(
            f"no repository in the rule file for {build['repository'] or ctx.project!r}"
        )

    @staticmethod
    def _build(ctx: ScriptContext, workspace: Workspace, command: list[str], name: str) -> TestRun:
        result = workspace.run(command)
        ctx.step(name, result.passed, time.monotonic() - result.seconds, exit_status=result.exit_status)
        return result

    @staticmethod
    def _fixers(ctx: ScriptContext, workspace: Workspace) -> str:
        ran = []
        for fixer in workspace.repository.fixers:
            result = workspace.run(list(fixer))
            ctx.step(
                f"fixer {shlex.join(fixer)}",
                result.exit_status is not None,
                time.monotonic() - result.seconds,
            )
            ran.append(shlex.join(fixer))
        changed = workspace.git("status", "--porcelain").strip()
        return f"{', '.join(ran)} changed {len(changed.splitlines())} files" if ran and changed else ""

    @staticmethod
    def _model_diff(
        ctx: ScriptContext,
        workspace: Workspace,
        build: dict[str, Any],
        errors: list[Any],
        repository: Repository,
    ) -> str:
        settings = ctx.settings
        if settings.analyzer != "llm" or not (settings.llm_base_url and settings.llm_model):
            return ""
        named = sorted({e.file for e in errors if (workspace.tree / e.file).is_file()})
        if not named:
            return ""
        files = {path: (workspace.tree / path).read_text(errors="replace")[:FILE_CHARS] for path in named}
        analyzer = LlmAnalyzer.from_settings(settings)
        started = time.monotonic()
        try:
            outcome = analyzer.ask(
                build_fix_messages(build["command"], [e.to_dict() for e in errors], files), set(named)
            )
        except JobFailed as exc:
            ctx.step("model diff", False, started, error=str(exc)[:300])
            return ""
        diff = outcome.analysis.suggested_fix.diff or ""
        strays = sorted({c.path for c in parse_diff(diff)} - set(named))
        problems = refusals(diff, repository) + [f"touches {p}, which no error names" for p in strays]
        if not diff or problems or workspace.check(diff):
            ctx.step("model diff", False, started, refused=problems or ["no diff, or it does not apply"])
            return ""
        workspace.apply(diff)
        touched = sorted({c.path for c in parse_diff(diff)})
        ctx.step("model diff", True, started, files=touched)
        return f"a model's diff to {', '.join(touched)}"

    @staticmethod
    def _comment(ctx: ScriptContext, text: str) -> None:
        if ctx.sentry is None or not ctx.issue_id:
            return
        with contextlib.suppress(SentryApiError):
            ctx.sentry.add_comment(
                ctx.issue_id, f"## 🤖 Build fix\n\n{text}\n\n_Job: {ctx.settings.job_url(ctx.job_id)}_"
            )
