"""The rule file's `repositories:` section: where a Sentry project's code lives, how its
tests run, and what an automatic fix may touch. Pure."""

from __future__ import annotations

import fnmatch

from pydantic import Field, field_validator

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
