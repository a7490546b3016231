"""A fresh clone to try a fix in: branch, check and apply the diff, run the project's tests
with a minimal environment (none of the worker's secrets) and a time limit, commit, and push
the fix branch — never the default branch, never a branch remediator did not make."""

from __future__ import annotations

import base64
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from remediator.errors import JobFailed
from remediator.rules.repositories import Repository

BRANCH_PREFIX = "remediator/"
"""Every branch remediator pushes starts so; it pushes no other."""

OUTPUT_TAIL = 3000
"""Characters of the test output kept (the end, where the failures are)."""

GIT_TIMEOUT = 120.0


class PushRefused(JobFailed):
    """A push the guard stopped (the default branch, or a branch remediator did not make)."""


@dataclass
class TestRun:
    passed: bool
    exit_status: int | None
    tail: str
    seconds: float


def minimal_env(home: Path) -> dict[str, str]:
    """What the project's tests and git get: a PATH, a locale, a home in the workspace."""
    return {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "HOME": str(home),
        "GIT_TERMINAL_PROMPT": "0",
    }


def check_push(branch: str, repository: Repository) -> None:
    """Refuse to push anything but a fix branch of remediator's own."""
    if branch == repository.default_branch or not branch.startswith(BRANCH_PREFIX) or ".." in branch:
        raise PushRefused(
            f"refused to push {branch!r}: remediator pushes only new {BRANCH_PREFIX}* branches, "
            f"never {repository.default_branch!r} or a branch a person owns"
        )


class Workspace:
    """A clone in `root` (a fresh, empty directory the caller removes)."""

    def __init__(self, repository: Repository, root: Path, token: str | None = None) -> None:
        self.repository = repository
        self.root = root
        self.tree = root / "repo"
        self.home = root / "home"
        self.home.mkdir(parents=True, exist_ok=True)
        self.token = token

    def _git_env(self) -> dict[str, str]:
        env = minimal_env(self.home)
        if self.token and self.repository.clone_url.startswith("https://"):
            # The token goes to git as configuration in the environment, not in argv or a URL.
            basic = base64.b64encode(f"x-access-token:{self.token}".encode()).decode()
            env.update(
                {
                    "GIT_CONFIG_COUNT": "1",
                    "GIT_CONFIG_KEY_0": "http.extraheader",
                    "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
                }
            )
        return env

    def git(self, *args: str, stdin: str | None = None, cwd: Path | None = None) -> str:
        """Run git; JobFailed with its message when it fails."""
        done = subprocess.run(
            ["git", "-c", "user.name=remediator", "-c", "user.email=remediator@localhost", *args],
            cwd=cwd or self.tree,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            env=self._git_env(),
        )
        if done.returncode != 0:
            raise JobFailed(f"git {args[0]} failed: {(done.stderr or done.stdout).strip()[-500:]}")
        return done.stdout

    def clone(self) -> str:
        """Clone the default branch; returns the commit it is at."""
        self.git(
            "clone",
            "--quiet",
            "--branch",
            self.repository.default_branch,
            self.repository.clone_url,
            str(self.tree),
            cwd=self.root,
        )
        return self.git("rev-parse", "HEAD").strip()

    def branch(self, name: str) -> None:
        """A new local branch for the fix."""
        check_push(name, self.repository)
        self.git("checkout", "--quiet", "-b", name)

    def check(self, diff: str) -> str | None:
        """Why the diff does not apply (None: it does)."""
        try:
            self.git("apply", "--check", "--whitespace=nowarn", "-", stdin=diff)
        except JobFailed as exc:
            return str(exc)
        return None

    def apply(self, diff: str) -> None:
        self.git("apply", "--whitespace=nowarn", "-", stdin=diff)

    def run_tests(self) -> TestRun:
        """The repository's test command, time-limited, in the minimal environment."""
        return self.run(list(self.repository.test_command))

    def checkout(self, ref: str) -> str:
        """Go to a commit (or branch) of the remote; returns the commit."""
        self.git("checkout", "--quiet", "--detach", ref)
        return self.git("rev-parse", "HEAD").strip()

    def run(self, argv: list[str]) -> TestRun:
        """A command in the tree (a build, a fixer), time-limited, in the minimal environment."""
        import time

        started = time.monotonic()
        try:
            done = subprocess.run(
                argv,
                cwd=self.tree,
                capture_output=True,
                text=True,
                timeout=self.repository.test_timeout,
                env=minimal_env(self.home),
            )
        except subprocess.TimeoutExpired as exc:
            output = (
                (exc.stdout or b"").decode(errors="replace")
                if isinstance(exc.stdout, bytes)
                else exc.stdout or ""
            )
            tail = f"{output[-OUTPUT_TAIL:]}\n(stopped after {self.repository.test_timeout:g} s)"
            return TestRun(False, None, tail, time.monotonic() - started)
        except OSError as exc:
            return TestRun(False, None, f"could not run {argv[0]}: {exc}", 0.0)
        output = (done.stdout or "") + (done.stderr or "")
        return TestRun(
            done.returncode == 0, done.returncode, output[-OUTPUT_TAIL:], time.monotonic() - started
        )

    def commit(self, message: str) -> str:
        self.git("add", "--all")
        self.git("commit", "--quiet", "--no-verify", "-m", message)
        return self.git("rev-parse", "HEAD").strip()

    def push(self, branch: str) -> None:
        """Push the fix branch as a new branch (never forced, never over an existing one)."""
        check_push(branch, self.repository)
        current = self.git("rev-parse", "--abbrev-ref", "HEAD").strip()
        if current != branch:
            raise PushRefused(f"refused to push: the workspace is on {current!r}, not {branch!r}")
        # `--force-with-lease=<ref>:` (empty expectation) makes git refuse if the branch exists.
        self.git(
            "push",
            "--quiet",
            "--porcelain",
            f"--force-with-lease=refs/heads/{branch}:",
            "origin",
            f"HEAD:refs/heads/{branch}",
        )
