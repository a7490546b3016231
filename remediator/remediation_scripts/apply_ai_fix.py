"""`apply-ai-fix`: try an analysis's diff in a fresh clone and, only when the project's own
tests pass, push it to a new branch and open a draft pull request; comment the outcome on
the Sentry issue. It never touches the default branch."""

from __future__ import annotations

import contextlib
import tempfile
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from remediator.errors import JobFailed, ScriptNotConfigured
from remediator.fixes.guard import refusals
from remediator.fixes.pull_request import open_draft
from remediator.fixes.workspace import BRANCH_PREFIX, Workspace
from remediator.scripts import Script, ScriptContext
from remediator.sentry.api import SentryApiError


class FixParams(BaseModel):
    """What the analysis proposed."""

    model_config = ConfigDict(extra="ignore")

    diff: str = Field(min_length=1, max_length=20_000)
    root_cause: str = ""
    explanation: str = ""
    confidence: int = Field(default=0, ge=0, le=100)
    analysis_job: str | None = None
    project: str | None = None
    """The Sentry project (default: the job's)."""
    pull_request: bool = True
    """Open a draft pull request from the pushed branch (false: the ladder stops at `branch`)."""
    rung_why: str = ""
    """Why the analysis reached the rung it did (said in the comment when no PR is opened)."""


def branch_name(issue_id: str | None, job_id: str) -> str:
    """`remediator/fix-<issue>-<job>`: new for every job, so it is nobody's branch."""
    return f"{BRANCH_PREFIX}fix-{issue_id or 'none'}-{job_id[:12]}"


class ApplyAiFix(Script):
    """Test a proposed diff and open it as a draft pull request."""

    name = "apply-ai-fix"
    description = "Apply an analysis's diff in a fresh clone; if the tests pass, a draft PR on a new branch."
    Params = FixParams
    time_limit = 1800
    idempotent = False
    verification = "none"

    def run(self, params: FixParams, ctx: ScriptContext) -> dict[str, Any]:
        """Guard, clone, apply, test, then push and open the draft pull request."""
        project = params.project or ctx.project
        repository = ctx.rules.repository_for(project) if ctx.rules else None
        if repository is None:
            raise ScriptNotConfigured(f"no repository in the rule file for Sentry project {project!r}")
        problems = refusals(params.diff, repository)
        if problems:
            self._comment(ctx, "was refused, nothing was pushed", "; ".join(problems))
            raise JobFailed("refused the proposed fix: " + "; ".join(problems))
        branch = branch_name(ctx.issue_id, ctx.job_id)
        with tempfile.TemporaryDirectory(prefix="remediator-fix-") as root:
            workspace = Workspace(repository, Path(root), token=ctx.settings.github_token)
            started = time.monotonic()
            base = workspace.clone()
            workspace.branch(branch)
            ctx.step("clone", True, started, commit=base, branch=branch)
            started = time.monotonic()
            problem = workspace.check(params.diff)
            if problem:
                ctx.step("git apply --check", False, started, error=problem)
                self._comment(ctx, "does not apply to the repository, nothing was pushed", problem)
                raise JobFailed(f"the proposed diff does not apply: {problem}")
            workspace.apply(params.diff)
            ctx.step("apply", True, started)
            tests = workspace.run_tests()
            ctx.step("tests", tests.passed, time.monotonic() - tests.seconds, exit_status=tests.exit_status)
            if not tests.passed:
                self._comment(
                    ctx, "failed the project's tests, nothing was pushed", f"```\n{tests.tail[-1500:]}\n```"
                )
                raise JobFailed(
                    f"the proposed fix failed the tests (exit {tests.exit_status}):\n{tests.tail[-1000:]}"
                )
            started = time.monotonic()
            commit = workspace.commit(
                f"Fix Sentry issue {ctx.issue_id}: {params.root_cause[:60]}\n\n{params.explanation}"
            )
            workspace.push(branch)
            ctx.step("push", True, started, commit=commit)
        if not params.pull_request:
            self._comment(
                ctx,
                f"passed the project's tests and is pushed to the branch `{branch}`; no pull request",
                f"The autofix ladder stops at a branch: {params.rung_why}." if params.rung_why else "",
            )
            return {"branch": branch, "commit": commit, "pull_request": None, "tests": tests.tail[-1000:]}
        started = time.monotonic()
        url = open_draft(
            ctx.settings,
            repository,
            branch,
            f"Fix: {(ctx.job.sentry_title or params.root_cause)[:200]}",
            self._pr_body(ctx, params, tests.tail),
        )
        ctx.step("draft pull request", True, started, url=url)
        self._comment(ctx, f"passed the project's tests and is a draft pull request: {url}", "")
        return {"branch": branch, "commit": commit, "pull_request": url, "tests": tests.tail[-1000:]}

    @staticmethod
    def _pr_body(ctx: ScriptContext, params: FixParams, tests: str) -> str:
        return (
            f"Proposed by remediator for Sentry issue {ctx.issue_id} "
            f"(confidence {params.confidence}%, analysis job {params.analysis_job}).\n\n"
            f"**Root cause:** {params.root_cause}\n\n**Fix:** {params.explanation}\n\n"
            f"The project's tests passed in a fresh clone:\n\n```\n{tests[-1500:]}\n```\n\n"
            f"Job: {ctx.settings.job_url(ctx.job_id)}. A draft: review before merging."
        )

    @staticmethod
    def _comment(ctx: ScriptContext, outcome: str, detail: str) -> None:
        if ctx.sentry is None or not ctx.issue_id:
            return
        text = f"## 🤖 AI fix\n\nThe proposed fix {outcome}." + (f"\n\n{detail}" if detail else "")
        text += f"\n\n_Job: {ctx.settings.job_url(ctx.job_id)}_"
        with contextlib.suppress(SentryApiError):  # the job's record says what happened either way
            ctx.sentry.add_comment(ctx.issue_id, text)
