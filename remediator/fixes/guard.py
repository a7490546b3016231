"""What an automatic fix may never do, read from its unified diff. Pure.

Refused: touching a path outside the repository's `fix_paths`, CI configuration or a
lockfile; deleting a test file or a test; adding skip markers; silencing the type checker
or the linter wholesale.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from remediator.rules.repositories import Repository

TEST_FILE = re.compile(
    r"(^|/)(tests?|__tests__|spec)/|(^|/)test_[^/]+\.py$|_test\.(py|go)$|\.(test|spec)\.[jt]sx?$|Test\.java$"
)
TEST_DEFINITION = re.compile(r"^\s*(def test_|async def test_|it\(|test\(|describe\(|@Test\b|func Test)")
SKIP_MARKER = re.compile(
    r"pytest\.mark\.(skip|xfail)|pytest\.skip\(|unittest\.skip|\b(it|test|describe)\.skip\(|\bx(it|describe)\(|"
    r"@Disabled\b|@Ignore\b|t\.Skip\("
)
SILENCER = re.compile(
    r"#\s*type:\s*ignore(?!\[)|#\s*noqa(?!:)|#\s*mypy:\s*ignore-errors|#\s*ruff:\s*noqa|"
    r"eslint-disable(?!-next-line|-line)|@ts-nocheck|#\s*pylint:\s*disable=all"
)


@dataclass
class FileChange:
    """One file of a diff."""

    old: str | None
    new: str | None
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def path(self) -> str:
        return self.new or self.old or ""


def parse_diff(diff: str) -> list[FileChange]:
    """The files of a unified diff with their added and removed lines."""
    files: list[FileChange] = []
    current: FileChange | None = None
    lines = diff.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("--- ") and index + 1 < len(lines) and lines[index + 1].startswith("+++ "):
            old = _path(line[4:])
            new = _path(lines[index + 1][4:])
            current = FileChange(old=old, new=new)
            files.append(current)
        elif line.startswith("+++ "):
            continue
        elif current is not None and line.startswith("+"):
            current.added.append(line[1:])
        elif current is not None and line.startswith("-"):
            current.removed.append(line[1:])
    return files


def _path(text: str) -> str | None:
    text = text.split("\t")[0].strip()
    if text == "/dev/null":
        return None
    return re.sub(r"^[ab]/", "", text)


def refusals(diff: str, repository: Repository) -> list[str]:
    """Why this diff may not be applied (empty: it may)."""
    files = parse_diff(diff)
    if not files:
        return ["the diff names no file"]
    problems: list[str] = []
    for change in files:
        for path in {p for p in (change.old, change.new) if p}:
            if not repository.allows(path):
                problems.append(
                    f"touches {path}, which no fix may (outside fix_paths, CI configuration or a lockfile)"
                )
        is_test = bool(TEST_FILE.search(change.path))
        if change.new is None and change.old and TEST_FILE.search(change.old):
            problems.append(f"deletes the test file {change.old}")
        if is_test and any(TEST_DEFINITION.search(line) for line in change.removed):
            removed = sum(1 for line in change.removed if TEST_DEFINITION.search(line))
            added = sum(1 for line in change.added if TEST_DEFINITION.search(line))
            if removed > added:
                problems.append(f"removes tests from {change.path}")
        if any(SKIP_MARKER.search(line) for line in change.added):
            problems.append(f"skips tests in {change.path}")
        if any(SILENCER.search(line) for line in change.added):
            problems.append(f"silences the type checker or linter wholesale in {change.path}")
    return list(dict.fromkeys(problems))
