"""The code behind a stack trace, for the analysis's evidence: when the issue's project maps
to a repository, the in-app files its frames name, read at the commit of the event's release
(when the release resolves to one: a SHA, a tag, or the repository's `release_ref_pattern`),
else at the default branch; and the suspect commits, the last ones (at most 5) that touched
those files before that commit (each file followed across renames), with the hunks that
touch the frames' lines. All within a token budget (`analysis_context_tokens`, about 3
characters a token as the prompt carries code), redacted like the rest.

Read from a bare mirror per repository under the data dir (`<data dir>/mirrors/<project>.git`),
cloned once and fetched incrementally, never a fresh clone per job. A repository that cannot
be read leaves the analysis going on the stack trace alone, with a note saying why."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from remediator.analysis.evidence import Evidence, Frame
from remediator.analysis.redact import redact_text
from remediator.rules.repositories import Repository

log = logging.getLogger(__name__)

CHARS_PER_TOKEN = 3
"""Characters per token of code as the prompt carries it (JSON, escapes included): 2.8 to 3.0
measured with SmolLM2's tokenizer on the eval's snapshot cases; larger vocabularies do better,
so the budget errs short. An estimate, not a tokenizer's count."""

CUT = "the token budget (analysis_context_tokens) cut"

FILES_SHARE = 2 / 3
"""Of the budget, what the files may take: the rest is kept for the suspect commits (and
takes what the files leave)."""

WHOLE_FILE_LINES = 120
"""A file this short goes in whole; a longer one as a window around each frame."""

WINDOW = 12
"""Lines either side of a frame's line in a window."""

MAX_SUSPECTS = 5
GIT_TIMEOUT = 60.0
_SHA = re.compile(r"^[0-9a-f]{7,40}$")


class GitError(Exception):
    """A git command failed (its stderr, shortened)."""


@dataclass
class CodeContext:
    """What the evidence gets of the repository."""

    repository: str
    commit: str = ""
    commit_from: str = ""
    """How the commit was chosen: `release <r> (a SHA|a tag|release_ref_pattern)` or `the
    default branch <b> (why)`."""
    files: list[dict[str, Any]] = field(default_factory=list)
    suspect_commits: list[dict[str, Any]] = field(default_factory=list)
    note: str | None = None

    def add_note(self, text: str) -> None:
        if text not in (self.note or ""):
            self.note = f"{self.note}; {text}" if self.note else text

    def for_prompt(self) -> dict[str, Any]:
        return {
            "repository": self.repository,
            "commit": self.commit,
            "commit_from": self.commit_from,
            "files": self.files,
            "suspect_commits": self.suspect_commits,
            **({"note": self.note} if self.note else {}),
        }


def _run(argv: list[str], home: Path, timeout: float = GIT_TIMEOUT, check: bool = True) -> str:
    """Run git with no prompt and none of the worker's environment (its secrets stay out)."""
    env = {"GIT_TERMINAL_PROMPT": "0", "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home)}
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)
    if check and done.returncode != 0:
        raise GitError(done.stderr.strip()[-300:] or f"{' '.join(argv[:3])} exited {done.returncode}")
    return done.stdout


def _git(git_dir: Path, *args: str, check: bool = True) -> str:
    return _run(["git", f"--git-dir={git_dir}", *args], git_dir, check=check)


def mirror(repository: Repository, data_dir: Path) -> Path:
    """The repository's bare mirror under the data dir, cloned the first time and fetched
    (incrementally) every time after."""
    path = data_dir / "mirrors" / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', repository.project)}.git"
    if (path / "HEAD").exists():
        _git(
            path,
            "fetch",
            "--prune",
            "--quiet",
            "origin",
            "+refs/heads/*:refs/heads/*",
            "+refs/tags/*:refs/tags/*",
        )
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    _run(
        ["git", "clone", "--mirror", "--quiet", repository.clone_url, str(path)], path.parent, GIT_TIMEOUT * 5
    )
    return path


def resolve_commit(git_dir: Path, repository: Repository, release: str) -> tuple[str, str]:
    """The commit to read at, and how it was chosen."""

    def verify(ref: str) -> str | None:
        out = _git(git_dir, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False).strip()
        return out or None

    if release:
        if _SHA.match(release.lower()) and (sha := verify(release.lower())):
            return sha, f"release {release} (a commit)"
        if sha := verify(f"refs/tags/{release}"):
            return sha, f"release {release} (a tag)"
        if repository.release_ref_pattern:
            found = re.search(repository.release_ref_pattern, release)
            ref = found.group(1) if found and found.groups() else found.group(0) if found else None
            if ref and (sha := verify(ref) or verify(f"refs/tags/{ref}")):
                return sha, f"release {release} (release_ref_pattern: {ref})"
        why = f"release {release} resolves to no commit"
    else:
        why = "the event names no release"
    sha = verify(f"refs/heads/{repository.default_branch}")
    if sha is None:
        raise GitError(f"no branch {repository.default_branch!r} in the repository")
    return sha, f"the default branch {repository.default_branch} ({why})"


def _candidates(frame: Frame) -> list[str]:
    """The paths a frame may name in a repository, longest first: its filename without a URL
    scheme (`webpack:///./src/a.js`, `app:///src/a.js`) and each shorter suffix of it; for a
    bare filename with a dotted module (Java's `com.acme.Cart` in `Cart.java`), the package's
    folders first."""
    name = re.sub(r"^[A-Za-z][A-Za-z0-9+.-]*:/+", "", frame.filename.replace("\\", "/"))
    parts = [p for p in name.split("/") if p not in ("", ".")]
    found = ["/".join(parts[i:]) for i in range(len(parts))]
    if len(parts) == 1 and "." in frame.module:
        found.insert(0, f"{frame.module.rsplit('.', 1)[0].replace('.', '/')}/{parts[0]}")
    return found


def _frames_by_path(evidence: Evidence, paths: set[str]) -> dict[str, list[int]]:
    """The repository paths the in-app frames name, innermost first, with their lines. A
    frame's filename may be absolute, relative to anything or a URL: its longest suffix that
    is a path of the tree, else that is the end of exactly one path of it (`src/a.js` in
    `web/src/a.js`)."""
    by_name: dict[str, list[str]] = {}
    for path in paths:
        by_name.setdefault(path.rpartition("/")[2], []).append(path)
    found: dict[str, list[int]] = {}
    # The innermost frame first (where it failed): the files come in that order, so that a
    # budget too small for all of them keeps the one that raised.
    for exception in reversed(evidence.exceptions):
        for frame in reversed(exception.frames):
            if not frame.in_app or not frame.filename:
                continue
            for candidate in _candidates(frame):
                named = [
                    p
                    for p in by_name.get(candidate.rpartition("/")[2], ())
                    if p == candidate or p.endswith("/" + candidate)
                ]
                match = candidate if candidate in paths else named[0] if len(named) == 1 else None
                if match:
                    lines = found.setdefault(match, [])
                    if frame.lineno:
                        lines.append(frame.lineno)
                    break
    return found


def _window(text: str, lines: list[int]) -> list[tuple[int, int]]:
    """The line ranges (1-based, inclusive) to show of a file."""
    count = max(1, len(text.splitlines()))
    if count <= WHOLE_FILE_LINES or not lines:
        return [(1, min(count, WHOLE_FILE_LINES))]
    return _around(text, lines)


def _around(text: str, lines: list[int]) -> list[tuple[int, int]]:
    """The windows around the frames' lines alone, whatever the file's length."""
    count = max(1, len(text.splitlines()))
    ranges: list[tuple[int, int]] = []
    for line in sorted(set(lines)):
        start, end = max(1, line - WINDOW), min(count, line + WINDOW)
        if ranges and start <= ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], max(end, ranges[-1][1]))
        else:
            ranges.append((start, end))
    return ranges


def _hunks_touching(patch: str, lines: list[int]) -> list[str]:
    """The hunks of a commit's patch (of one file, under whatever name it had then) whose
    new lines overlap the frames' lines."""
    out: list[str] = []
    current: str | None = None
    keep = False
    for row in patch.splitlines():
        if row.startswith("diff --git "):
            if current is not None and keep:
                out.append(current)
            current = None
            continue
        header = re.match(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@", row)
        if header:
            if current is not None and keep:
                out.append(current)
            start, length = int(header.group(1)), int(header.group(2) or 1)
            keep = not lines or any(start - WINDOW <= line <= start + length + WINDOW for line in lines)
            current = row
        elif current is not None:
            current += "\n" + row
    if current is not None and keep:
        out.append(current)
    return out


def suspect_commits(git_dir: Path, commit: str, frames: dict[str, list[int]]) -> list[dict[str, Any]]:
    """The last MAX_SUSPECTS commits up to `commit` that touched the frames' files, newest
    first, each file followed across renames (a moved file's history goes on under its old
    name), with the hunks near the frames' lines."""
    found: dict[str, dict[str, Any]] = {}
    for path, lines in frames.items():
        out = _git(
            git_dir,
            "log",
            "--follow",
            f"-n{MAX_SUSPECTS}",
            "--format=%x1e%H%x1f%aI%x1f%ct%x1f%s",
            "-p",
            "-U0",
            commit,
            "--",
            path,
        )
        for record in out.split("\x1e")[1:]:
            head, _, patch = record.partition("\n")
            sha, date, stamp, message = [*head.split("\x1f"), "", "", ""][:4]
            entry = found.setdefault(
                sha, {"sha": sha, "date": date, "message": message, "hunks": [], "order": int(stamp or 0)}
            )
            entry["hunks"].extend(_hunks_touching(patch, lines))
    newest = sorted(found.values(), key=lambda e: e["order"], reverse=True)[:MAX_SUSPECTS]
    return [
        {
            "sha": e["sha"],
            "date": e["date"],
            "message": redact_text(e["message"]),
            "hunks": redact_text("\n".join(e["hunks"]))[:4000],
        }
        for e in newest
    ]


def _size(item: dict[str, Any]) -> int:
    """Characters an item takes in the prompt (JSON, as the report carries it)."""
    return len(json.dumps(item, ensure_ascii=False))


def _trimmed(entry: dict[str, Any], left: int) -> dict[str, Any] | None:
    """A suspect commit with its hunks cut to fit `left` characters; None when even its SHA,
    date and message do not."""
    hunks = entry["hunks"]
    if _size({**entry, "hunks": " [cut]"}) > left:
        return None
    fits, over = 0, len(hunks)
    while fits < over:  # the longest cut that fits (escapes make the size uneven)
        mid = (fits + over + 1) // 2
        if _size({**entry, "hunks": hunks[:mid] + " [cut]"}) <= left:
            fits = mid
        else:
            over = mid - 1
    return {**entry, "hunks": hunks[:fits] + " [cut]"}


def _fitting(path: str, text: str, lines: list[int], left: int) -> list[dict[str, Any]]:
    """What of a file fits in `left` characters: the whole file when short (else a window
    around each frame's line); a short file too big whole falls back to the windows; nothing
    when even they do not fit."""
    rows = text.splitlines()

    def shown(ranges: list[tuple[int, int]]) -> list[dict[str, Any]]:
        return [
            {
                "path": path,
                "lines": [start, end],
                "text": redact_text(
                    "\n".join(f"{n}: {rows[n - 1]}" for n in range(start, min(end, len(rows)) + 1))
                ),
            }
            for start, end in ranges
        ]

    for ranges in (_window(text, lines), _around(text, lines)):
        parts = shown(ranges)
        if parts and sum(_size(p) for p in parts) <= left:
            return parts
    return []


def code_context(repository: Repository, data_dir: Path, evidence: Evidence) -> CodeContext:
    """The code behind the evidence's stack trace, within the repository's token budget."""
    context = CodeContext(repository=repository.github)
    budget = repository.analysis_context_tokens * CHARS_PER_TOKEN
    try:
        git_dir = mirror(repository, data_dir)
        commit, how = resolve_commit(git_dir, repository, evidence.release)
        context.commit, context.commit_from = commit, how
        tree = set(_git(git_dir, "ls-tree", "-r", "--name-only", commit).splitlines())
        frames = _frames_by_path(evidence, tree)
        left = int(budget * FILES_SHARE)
        for path, lines in frames.items():
            text = _git(git_dir, "show", f"{commit}:{path}")
            shown = _fitting(path, text, lines, left)
            if not shown:
                context.add_note(f"{CUT} the files short")
                continue
            left -= sum(_size(f) for f in shown)
            context.files.extend(shown)
        left += budget - int(budget * FILES_SHARE)
        if frames and left > 0:
            for entry in suspect_commits(git_dir, commit, frames):
                if _size(entry) > left:
                    # Its SHA, date and message are what a blame needs: its hunks give way.
                    cut = _trimmed(entry, left)
                    if cut is None:
                        context.add_note(f"{CUT} the suspect commits short")
                        break
                    entry = cut
                    context.add_note(f"{CUT} a suspect commit's hunks short")
                left -= _size(entry)
                context.suspect_commits.append(entry)
        if not frames:
            context.note = "no in-app frame names a file of the repository"
    except (GitError, subprocess.TimeoutExpired, OSError) as exc:
        log.warning("repository %s could not be read: %s", repository.github, exc)
        context.note = (
            f"the repository could not be read ({str(exc)[:200]}): the analysis has the stack trace alone"
        )
    return context
