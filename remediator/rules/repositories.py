"""The rule file's `repositories:` section: where a Sentry project's code lives, how its
tests run, and what an automatic fix may touch. Pure."""

from __future__ import annotations

import fnmatch
import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from remediator.rules.fields import Duration, _Strict

PROTECTED_PATHS = (
    ".github/**",
    ".gitlab-ci.yml",
    ".circleci/**",
    "Jenkinsfile",
    "azure-pipelines.yml",
    "*.lock",
    "**/*.lock",
    "package-lock.json",
    "**/package-lock.json",
    "pnpm-lock.yaml",
    "**/pnpm-lock.yaml",
    "go.sum",
    "**/go.sum",
)
"""CI configuration and lockfiles: no automatic fix touches them, whatever fix_paths say."""


RUNGS = ("analysis", "suggest", "branch", "draft_pr")
"""How far automation goes for an analysis, each rung including the ones before it: the root
cause; the suggested diff in the comment; the tested fix pushed to a new branch; a draft pull
request from it."""


class AutofixLadder(_Strict):
    """How far an analysis's fix goes, by its confidence (0-100)."""

    max_depth: Literal["analysis", "suggest", "branch", "draft_pr"] = "draft_pr"
    """The highest rung this repository allows."""
    suggest_at: int = Field(default=50, ge=0, le=100)
    """From this confidence the comment carries the suggested diff."""
    branch_at: int = Field(default=70, ge=0, le=100)
    """From this confidence the tested fix is pushed to a `remediator/fix-…` branch."""
    draft_pr_at: int | None = Field(default=None, ge=0, le=100)
    """From this confidence, a draft pull request; unset: REMEDIATOR_AUTOFIX_MIN_CONFIDENCE (85)."""

    @model_validator(mode="after")
    def _rising(self) -> AutofixLadder:
        if self.branch_at < self.suggest_at:
            raise ValueError(f"branch_at ({self.branch_at}) is below suggest_at ({self.suggest_at})")
        if self.draft_pr_at is not None and self.draft_pr_at < self.branch_at:
            raise ValueError(f"draft_pr_at ({self.draft_pr_at}) is below branch_at ({self.branch_at})")
        return self


class Repository(_Strict):
    """One repository a Sentry project's errors can be fixed in."""

    project: str = Field(min_length=1)
    """Sentry project slug (or id)."""
    clone_url: str = Field(min_length=1)
    """What `git clone` takes: https://, ssh, file:// or a local path."""
    github: str = Field(pattern=r"^[\w.-]+/[\w.-]+$")
    """owner/repo for the pull-request API."""
    default_branch: str = "main"
    test_command: tuple[str, ...] = Field(min_length=1)
    """An argv list (no shell) that exits 0 when the project's tests pass."""
    test_timeout: Duration = 600.0
    fix_paths: tuple[str, ...] = Field(min_length=1)
    """Glob patterns (`src/**`) of what a fix may touch."""
    fixers: tuple[tuple[str, ...], ...] = ()
    """Deterministic fixers (`[ruff, check, --fix]`), for build failures."""
    approval: bool = False
    """Whether its automatic fixes wait for a person before they run."""
    autofix: AutofixLadder = Field(default_factory=AutofixLadder)
    """How far an analysis's fix goes, by its confidence."""
    analysis_context_tokens: int = Field(default=6000, ge=0)
    """Tokens (about 3 characters each, as the prompt carries code) of code an analysis's evidence may
    carry (0: none)."""
    release_ref_pattern: str | None = None
    """A regular expression finding the git ref in a release name (its first group, or the
    whole match): `backend@(.+)` takes `1.4.2` from `backend@1.4.2`."""

    @field_validator("release_ref_pattern")
    @classmethod
    def _pattern(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from None
        return value

    @field_validator("test_command", mode="before")
    @classmethod
    def _argv(cls, value: object) -> object:
        if isinstance(value, str):
            raise ValueError("give the command as a list (an argv; no shell is used), e.g. [pytest, -q]")
        return value

    def allows(self, path: str) -> bool:
        """Whether a fix may touch this path."""
        path = path.lstrip("./")
        if any(fnmatch.fnmatchcase(path, p) for p in PROTECTED_PATHS):
            return False
        return any(fnmatch.fnmatchcase(path, p) for p in self.fix_paths)
