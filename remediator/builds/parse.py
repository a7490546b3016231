"""Errors and warnings read from a build's output. Pure.

Understood: Python tracebacks (and SyntaxError), pytest's failure lines, ruff, mypy,
TypeScript's tsc (both its forms), and the generic `file:line:col: message` form.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

MAX_ITEMS = 50
"""Most errors (and most warnings) kept."""

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
TRACEBACK_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+)')
EXCEPTION_LINE = re.compile(
    r"^(?P<type>[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning))(?::\s*(?P<msg>.*))?$"
)
PYTEST_FAILED = re.compile(r"^(?:FAILED|ERROR) (?P<file>[^\s:]+)(?:::(?P<test>\S+))?(?: - (?P<msg>.*))?$")
PYTEST_LOCATION = re.compile(r"^(?P<file>[^\s:]+\.py):(?P<line>\d+): (?P<msg>\w*(?:Error|Exception)\b.*)$")
MYPY = re.compile(
    r"^(?P<file>[^\s:]+):(?P<line>\d+)(?::(?P<col>\d+))?: (?P<level>error|warning|note): (?P<msg>.+)$"
)
TSC_PAREN = re.compile(
    r"^(?P<file>[^\s(]+)\((?P<line>\d+),(?P<col>\d+)\): (?P<level>error|warning) (?P<msg>.+)$"
)
TSC_PRETTY = re.compile(
    r"^(?P<file>[^\s:]+):(?P<line>\d+):(?P<col>\d+) - (?P<level>error|warning) (?P<msg>.+)$"
)
GENERIC = re.compile(r"^(?P<file>[^\s:]+\.[A-Za-z0-9]+):(?P<line>\d+):(?P<col>\d+):? (?P<msg>.+)$")


@dataclass(frozen=True)
class Problem:
    """One error or warning: where and what."""

    file: str
    line: int | None
    message: str
    column: int | None = None

    def to_dict(self) -> dict[str, object]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def _problem(file: str, line: str | None, message: str, column: str | None = None) -> Problem:
    return Problem(
        file=file,
        line=int(line) if line else None,
        message=message.strip()[:500],
        column=int(column) if column else None,
    )


def parse_output(text: str) -> tuple[list[Problem], list[Problem]]:
    """The errors and the warnings a build printed (each list at most MAX_ITEMS, in order,
    without repeats)."""
    errors: list[Problem] = []
    warnings: list[Problem] = []
    frame: tuple[str, str] | None = None
    for raw in ANSI.sub("", text).splitlines():
        line = raw.rstrip()
        if match := TRACEBACK_FRAME.match(line):
            frame = (match["file"], match["line"])
            continue
        if frame is not None and (match := EXCEPTION_LINE.match(line.strip())) and not line.startswith(" "):
            message = f"{match['type']}: {match['msg']}" if match["msg"] else match["type"]
            errors.append(_problem(frame[0], frame[1], message))
            frame = None
            continue
        for pattern in (TSC_PAREN, TSC_PRETTY, MYPY):
            if match := pattern.match(line):
                if match["level"] != "note":
                    target = errors if match["level"] == "error" else warnings
                    target.append(
                        _problem(match["file"], match["line"], match["msg"], match.groupdict().get("col"))
                    )
                break
        else:
            if match := PYTEST_FAILED.match(line):
                test = f"{match['test']}: " if match["test"] else ""
                errors.append(_problem(match["file"], None, test + (match["msg"] or "failed")))
            elif match := PYTEST_LOCATION.match(line):
                errors.append(_problem(match["file"], match["line"], match["msg"]))
            elif match := GENERIC.match(line):
                message = match["msg"]
                target = warnings if re.match(r"(?i)warn", message) else errors
                target.append(_problem(match["file"], match["line"], message, match["col"]))
    return _unique(errors)[:MAX_ITEMS], _unique(warnings)[:MAX_ITEMS]


def _unique(items: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(items))
