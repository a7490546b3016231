"""What an analyzer is shown: read from Sentry's issue and latest event (REST shapes),
trimmed to what explains the problem, and redacted. Pure.

An error issue's event explains it by its exception, frames, breadcrumbs and request; a
performance, metric, cron or uptime issue's by the `occurrence` the issue platform made
(title, subtitle, evidence) and, for performance issues, the transaction's `spans` entry
(the offending spans the occurrence names)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, Field

from remediator.analysis.redact import redact_for_model
from remediator.payloads import issue_types

MAX_FRAMES = 12
"""Frames kept per exception (the innermost)."""

MAX_BREADCRUMBS = 10
CONTEXT_LINES = 5
"""Source lines kept around each frame's line (each side)."""

MAX_SPANS = 10
"""Spans kept: the occurrence's offenders (else the slowest), and their parent."""

MAX_EVIDENCE_ITEMS = 12
MAX_TEXT = 500
"""Longest text kept of one value (a span's description, an evidence value)."""

MAX_DATA_KEYS = 10
"""Keys kept of one mapping (a breadcrumb's data, a context, the evidence data)."""

MAX_CONTEXTS = 8
SKIPPED_CONTEXTS = frozenset({"user"})
"""Contexts never sent (who the user is does not explain a fault)."""


class Frame(BaseModel):
    filename: str = ""
    module: str = ""
    """The frame's module (Java's `package.Class`): finds its file in a repository (left out
    of the prompt: FRAME_FIELDS_NOT_SENT)."""
    function: str = ""
    lineno: int | None = None
    in_app: bool = False
    context: list[tuple[int, str]] = Field(default_factory=list)
    vars: dict[str, Any] | None = None


FRAME_FIELDS_NOT_SENT = {"exceptions": {"__all__": {"frames": {"__all__": {"module"}}}}}
"""What of the frames the model is not shown (the filename and function say it)."""


class ExceptionInfo(BaseModel):
    type: str = ""
    value: str = ""
    frames: list[Frame] = Field(default_factory=list)


class Span(BaseModel):
    op: str = ""
    description: str = ""
    duration_ms: float | None = None
    status: str = ""
    offender: bool = False
    """One the occurrence names as offending (a repeated query, the slow call)."""


class Occurrence(BaseModel):
    """What the issue platform detected, as its occurrence says."""

    type: str = ""
    title: str = ""
    subtitle: str = ""
    evidence: list[tuple[str, str]] = Field(default_factory=list)
    """evidenceDisplay: (name, value), the important ones first."""
    data: dict[str, Any] = Field(default_factory=dict)
    """evidenceData, bounded."""


class Request(BaseModel):
    method: str = ""
    url: str = ""
    """Without its query string or fragment."""
    query_keys: list[str] = Field(default_factory=list)
    """The names of its query parameters (their values are not sent)."""
    status: int | None = None
    """The response's status, when the event's contexts say."""


class Evidence(BaseModel):
    """One production problem, as the analyzer sees it."""

    issue_id: str
    issue_category: str = ""
    issue_type: str = ""
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
    occurrence: Occurrence | None = None
    spans: list[Span] = Field(default_factory=list)
    request: Request | None = None
    contexts: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @property
    def has_code(self) -> bool:
        """Whether the category's events can carry code to analyse (not a cron monitor's
        missed check-in, not a domain that is down)."""
        return self.issue_category not in issue_types.NO_CODE_CATEGORIES

    def files(self) -> set[str]:
        """Every file the stack traces name."""
        return {f.filename for e in self.exceptions for f in e.frames if f.filename}


def _entry(event: dict[str, Any], kind: str) -> Any:
    for entry in event.get("entries") or ():
        if isinstance(entry, dict) and entry.get("type") == kind:
            return entry.get("data")
    return None


def _entries(event: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    data = _entry(event, kind) or {}
    values = data.get("values") if isinstance(data, dict) else None
    return [v for v in values or () if isinstance(v, dict)]


def _short(value: Any, limit: int = MAX_TEXT) -> Any:
    """A value kept small: text cut, mappings and lists bounded, nesting flattened to text."""
    if isinstance(value, str):
        return value[:limit]
    if isinstance(value, bool | int | float) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k)[:100]: _flat(v, limit) for k, v in list(value.items())[:MAX_DATA_KEYS]}
    if isinstance(value, list | tuple):
        return [_flat(v, limit) for v in list(value)[:MAX_DATA_KEYS]]
    return str(value)[:limit]


def _flat(value: Any, limit: int) -> Any:
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, ensure_ascii=False, default=str)[:limit]
    return _short(value, limit)


def _crumb(raw: dict[str, Any]) -> dict[str, Any]:
    # http, xhr, fetch and navigation crumbs keep what happened in `data` (url, method,
    # status_code, from, to), with a null message.
    kept = {
        k: raw.get(k) for k in ("timestamp", "category", "level", "message", "type") if raw.get(k) is not None
    }
    data = raw.get("data")
    if isinstance(data, dict) and data:
        kept["data"] = _short(data, 300)
    return kept


def _occurrence(raw: Any) -> Occurrence | None:
    if not isinstance(raw, dict):
        return None
    shown = [d for d in raw.get("evidenceDisplay") or () if isinstance(d, dict)]
    shown.sort(key=lambda d: not d.get("important"))
    issue_type, _ = issue_types.from_occurrence(raw.get("type"))
    data = raw.get("evidenceData")
    return Occurrence(
        type=issue_type,
        title=str(raw.get("issueTitle") or "")[:MAX_TEXT],
        subtitle=str(raw.get("subtitle") or "")[:MAX_TEXT],
        evidence=[
            (str(d.get("name") or "")[:100], str(d.get("value") or "")[:MAX_TEXT])
            for d in shown[:MAX_EVIDENCE_ITEMS]
        ],
        data=_short(data) if isinstance(data, dict) else {},
    )


def _spans(event: dict[str, Any], occurrence: dict[str, Any] | None) -> list[Span]:
    raw = [s for s in _entry(event, "spans") or () if isinstance(s, dict)]
    if not raw:
        return []
    data = (occurrence or {}).get("evidenceData") or {}
    offenders = {str(i) for i in data.get("offenderSpanIds") or ()}
    parents = {str(i) for i in data.get("parentSpanIds") or ()}

    def duration(span: dict[str, Any]) -> float | None:
        start, end = span.get("start_timestamp"), span.get("timestamp")
        if isinstance(start, int | float) and isinstance(end, int | float):
            return round((end - start) * 1000, 3)
        return None

    chosen = [s for s in raw if str(s.get("span_id")) in offenders | parents]
    if not chosen:
        chosen = sorted(raw, key=lambda s: duration(s) or 0.0, reverse=True)
    return [
        Span(
            op=str(s.get("op") or ""),
            description=str(s.get("description") or "")[:MAX_TEXT],
            duration_ms=duration(s),
            status=str(s.get("status") or ""),
            offender=str(s.get("span_id")) in offenders,
        )
        for s in chosen[:MAX_SPANS]
    ]


def _request(event: dict[str, Any]) -> Request | None:
    raw = _entry(event, "request")
    if not isinstance(raw, dict) or not (raw.get("url") or raw.get("method")):
        return None
    url = str(raw.get("url") or "")
    parts = urlsplit(url)
    keys = [str(p[0]) for p in raw.get("query") or () if isinstance(p, list | tuple) and p]
    if not keys and parts.query:
        keys = [p.split("=", 1)[0] for p in parts.query.split("&") if p]
    response = (event.get("contexts") or {}).get("response") or {}
    status = response.get("status_code") if isinstance(response, dict) else None
    return Request(
        method=str(raw.get("method") or ""),
        url=urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")) if parts.scheme else parts.path,
        query_keys=keys[:MAX_DATA_KEYS],
        status=status if isinstance(status, int) else None,
    )


def _contexts(event: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for name, value in (event.get("contexts") or {}).items():
        if name in SKIPPED_CONTEXTS or not isinstance(value, dict) or len(found) >= MAX_CONTEXTS:
            continue
        found[str(name)[:100]] = _short({k: v for k, v in value.items() if k != "type"}, 300)
    return found


def _version(release: Any) -> str:
    if isinstance(release, dict):
        return str(release.get("version") or "")
    return str(release or "")


def _frame(raw: dict[str, Any], allow_vars: bool) -> Frame:
    line = raw.get("lineNo") if raw.get("lineNo") is not None else raw.get("lineno")
    context = []
    for pair in raw.get("context") or ():
        usable = isinstance(pair, list | tuple) and len(pair) == 2 and isinstance(pair[0], int)
        if usable and (line is None or abs(pair[0] - line) <= CONTEXT_LINES):
            context.append((pair[0], str(pair[1])[:300]))
    return Frame(
        filename=str(raw.get("filename") or raw.get("absPath") or raw.get("module") or ""),
        module=str(raw.get("module") or ""),
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
    # The event's release, else its tag, else the issue's first (or last) release.
    release = (
        _version(event.get("release"))
        or tags.get("release", "")
        or _version(issue.get("firstRelease"))
        or _version(issue.get("lastRelease"))
    )
    crumbs = [_crumb(c) for c in _entries(event, "breadcrumbs")[-MAX_BREADCRUMBS:]]
    project = issue.get("project") or {}
    occurrence = event.get("occurrence") if isinstance(event.get("occurrence"), dict) else None
    issue_type = (
        str(issue.get("issueType") or "") or issue_types.from_occurrence((occurrence or {}).get("type"))[0]
    )
    category = str(issue.get("issueCategory") or "") or issue_types.category_of_type(issue_type)
    if not category and (event.get("type") in issue_types.ERROR_EVENT_TYPES or _entries(event, "exception")):
        category = "error"
    evidence = Evidence(
        issue_id=str(issue.get("id") or event.get("groupID") or ""),
        issue_category=category,
        issue_type=issue_type,
        title=str(issue.get("title") or event.get("title") or ""),
        culprit=str(issue.get("culprit") or event.get("culprit") or ""),
        level=str(issue.get("level") or ""),
        project=str(project.get("slug") or "") if isinstance(project, dict) else str(project),
        platform=str(event.get("platform") or issue.get("platform") or ""),
        environment=tags.get("environment", ""),
        release=release,
        count=int(issue.get("count") or 0),
        user_count=int(issue.get("userCount") or 0),
        # Sentry lists chained exceptions innermost last; keep that order.
        exceptions=[_exception(e, allow_vars) for e in _entries(event, "exception")],
        breadcrumbs=crumbs,
        tags={k: v for k, v in tags.items() if k not in ("user", "user.email", "user.ip", "client_ip")},
        occurrence=_occurrence(occurrence),
        spans=_spans(event, occurrence),
        request=_request(event),
        contexts=_contexts(event),
    )
    return Evidence.model_validate(redact_for_model(evidence.model_dump()))
