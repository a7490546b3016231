"""A repository snapshot for the eval: a history kept as text (each commit's author, date,
message, tag and the files it wrote or deleted), built into a real git repository. The
authors, committers and dates are the snapshot's own, so the same snapshot gives the same
commit SHAs on every machine, and a case can name the commit it expects blamed by its subject.

A snapshot file is JSON:

    {"source": "where the code and its history come from",
     "default_branch": "main",
     "commits": [{"author": "Name <email>", "date": "2026-12-06T22:02:54+00:00",
                  "message": "…", "tag": "v1.0" (optional),
                  "files": {"path/in/repo.py": "its whole text", "gone.py": null}}, …]}

The analysis reads it as it reads any repository (analysis.code_context): cloned into a bare
mirror, the files at the release's commit, the suspect commits before it."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

from remediator.errors import RemediatorError

_AUTHOR = re.compile(r"^(?P<name>[^<>]+?)\s*<(?P<email>[^<>]*)>$")


def load(path: Path) -> dict[str, Any]:
    """A snapshot file, checked: every commit has an author, a date, a message and files."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RemediatorError(f"snapshot {path}: {exc}") from None
    commits = document.get("commits") if isinstance(document, dict) else None
    if not commits or not isinstance(commits, list):
        raise RemediatorError(f"snapshot {path}: no commits")
    for number, commit in enumerate(commits, 1):
        for name in ("author", "date", "message", "files"):
            if not commit.get(name):
                raise RemediatorError(f"snapshot {path}: commit {number} has no {name}")
        if not _AUTHOR.match(commit["author"]):
            raise RemediatorError(f"snapshot {path}: commit {number}'s author is not 'Name <email>'")
    return dict(document)


def build(document: dict[str, Any], into: Path) -> dict[str, str]:
    """Commit the snapshot's history into a new repository at `into` (created; must not
    exist); returns each commit's SHA by its subject (the message's first line)."""
    branch = document.get("default_branch") or "main"
    into.mkdir(parents=True)
    home = into.parent / f".{into.name}-home"  # no one's git configuration applies
    home.mkdir(exist_ok=True)
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1"}

    def git(*args: str, env: dict[str, str] | None = None) -> str:
        done = subprocess.run(
            ["git", "-c", "commit.gpgsign=false", "-c", "core.autocrlf=false", *args],
            cwd=into,
            env={**base, **(env or {})},
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise RemediatorError(f"building the snapshot: git {args[0]}: {done.stderr.strip()[-300:]}")
        return done.stdout.strip()

    git("init", "--quiet", f"--initial-branch={branch}")
    shas: dict[str, str] = {}
    for commit in document["commits"]:
        for path, text in commit["files"].items():
            target = into / path
            if not target.resolve().is_relative_to(into.resolve()):
                raise RemediatorError(f"snapshot path {path!r} leaves the repository")
            if text is None:
                target.unlink(missing_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
        git("add", "--all")
        who = _AUTHOR.match(commit["author"])
        assert who is not None  # load() checked it
        name, email = who.group("name"), who.group("email")
        git(
            "commit",
            "--quiet",
            "--allow-empty",
            "-m",
            commit["message"],
            env={
                "GIT_AUTHOR_NAME": name,
                "GIT_AUTHOR_EMAIL": email,
                "GIT_AUTHOR_DATE": commit["date"],
                "GIT_COMMITTER_NAME": name,
                "GIT_COMMITTER_EMAIL": email,
                "GIT_COMMITTER_DATE": commit["date"],
            },
        )
        sha = git("rev-parse", "HEAD")
        shas[commit["message"].splitlines()[0]] = sha
        if commit.get("tag"):
            git("tag", commit["tag"])
    return shas
