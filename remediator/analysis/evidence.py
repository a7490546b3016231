"""What an analyzer is shown: read from Sentry's issue and latest event (REST shapes),
trimmed to what explains the error, and redacted. Pure."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from remediator.analysis.redact import redact

MAX_FRAMES = 12
"""Frames kept per exception (the innermost)."""

MAX_BREADCRUMBS = 10
CONTEXT_LINES = 5
"""Source lines kept around each frame's line (each side)."""


class Frame(BaseModel):
    filename: str = ""
    function: str = ""
    lineno: int | None = None
    in_app: bool = False
    context: list[tuple[int, str]] = Field(default_factory=list)
    vars: dict[str, Any] | None = None


class ExceptionInfo(BaseModel):
    type: str = ""
    value: str = ""
    frames: list[Frame] = Field(default_factory=list)


class Evidence(BaseModel):
    """One production error, as the analyzer sees it."""

    issue_id: str
    title: str = ""
    culprit: str = ""
    level: str = ""
    project: str = ""
    platform: str = ""
    environment: str = ""
    release: str = ""
    count: int = 0
    user_count: int = 0
    exceptions: list[ExceptionInfo] = Field(default_factory=list)
    breadcrumbs: list[dict[str, Any]] = Field(default_factory=list)
    tags: dict[str, str] = Field(default_factory=dict)

    def files(self) -> set[str]:
        """Every file the stack traces name."""
        return {f.filename for e in self.exceptions for f in e.frames if f.filename}


def _entries(event: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    for entry in event.get("entries") or ():
        if isinstance(entry, dict) and entry.get("type") == kind:
            data = entry.get("data") or {}
            values = data.get("values") if isinstance(data, dict) else None
            return [v for v in values or () if isinstance(v, dict)]
    return []


def _frame(raw: dict[str, Any], allow_vars: bool) -> Frame:
    line = raw.get("lineNo") if raw.get("lineNo") is not None else raw.get("lineno")
    context = []
    for pair in raw.get("context") or ():
        usable = isinstance(pair, list | tuple) and len(pair) == 2 and isinstance(pair[0], int)
        if usable and (line is None or abs(pair[0] - line) <= CONTEXT_LINES):
            context.append((pair[0], str(pair[1])[:300]))
    return Frame(
        filename=str(raw.get("filename") or raw.get("absPath") or raw.get("module") or ""),
        function=str(raw.get("function") or ""),
        lineno=line if isinstance(line, int) else None,
        in_app=bool(raw.get("inApp", raw.get("in_app", False))),
        context=context,
        vars=raw.get("vars") if allow_vars and isinstance(raw.get("vars"), dict) else None,
    )


def _exception(raw: dict[str, Any], allow_vars: bool) -> ExceptionInfo:
    frames = [
        _frame(f, allow_vars)
        for f in ((raw.get("stacktrace") or {}).get("frames") or ())
        if isinstance(f, dict)
    ]
    in_app = [f for f in frames if f.in_app]
    return ExceptionInfo(
        type=str(raw.get("type") or ""),
        value=str(raw.get("value") or "")[:2000],
        frames=(in_app or frames)[-MAX_FRAMES:],
    )


def _tags(event: dict[str, Any]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for tag in event.get("tags") or ():
        if isinstance(tag, dict) and "key" in tag:
            tags[str(tag["key"])] = str(tag.get("value", ""))[:200]
        elif isinstance(tag, list | tuple) and len(tag) == 2:
            tags[str(tag[0])] = str(tag[1])[:200]
    return tags


def evidence_from(issue: dict[str, Any], event: dict[str, Any], allow_vars: bool = False) -> Evidence:
    """The evidence of an issue and its latest event, redacted (frame variables only when
    allowed, and redacted then too)."""
    tags = _tags(event)
    release = event.get("release")
    if isinstance(release, dict):
        release = release.get("version")
    crumbs = [
        {k: c.get(k) for k in ("timestamp", "category", "level", "message", "type") if c.get(k) is not None}
        for c in _entries(event, "breadcrumbs")[-MAX_BREADCRUMBS:]
    ]
    project = issue.get("project") or {}
    evidence = Evidence(
        issue_id=str(issue.get("id") or event.get("groupID") or ""),
        title=str(issue.get("title") or event.get("title") or ""),
        culprit=str(issue.get("culprit") or event.get("culprit") or ""),
        level=str(issue.get("level") or ""),
        project=str(project.get("slug") or "") if isinstance(project, dict) else str(project),
        platform=str(event.get("platform") or issue.get("platform") or ""),
        environment=tags.get("environment", ""),
        release=str(release or tags.get("release", "")),
        count=int(issue.get("count") or 0),
        user_count=int(issue.get("userCount") or 0),
        # Sentry lists chained exceptions innermost last; keep that order.
        exceptions=[_exception(e, allow_vars) for e in _entries(event, "exception")],
        breadcrumbs=crumbs,
        tags={k: v for k, v in tags.items() if k not in ("user", "user.email", "user.ip", "client_ip")},
    )
    return Evidence.model_validate(redact(evidence.model_dump()))
