"""Events as an SDK sends them, after ingestion's normalization: what the Sentry stand-in
stores, one event per issue occurrence (the stand-in renders them as Sentry does:
`sentry_shapes`).

Issue-platform events (performance, metric, cron, uptime) carry an `occurrence`; the ones
made here follow the code that makes them in Sentry: cron monitor failures
`src/sentry/monitors/logic/incident_occurrence.py` (`send_incident_occurrence`), uptime
downtime `src/sentry/uptime/issue_platform.py` (`build_occurrence_from_result`,
`build_event_data_for_occurrence`), N+1 queries and endpoint regressions the examples in
`tests/payloads/real/rest/` (getsentry/sentry-mcp's fixtures). Group types and their
default priorities: `src/sentry/issues/grouptype.py`, `src/sentry/monitors/grouptype.py`,
`src/sentry/uptime/grouptype.py`.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

from remediator.payloads import issue_types

DEFAULT_PRIORITY = {
    "error": 75,
    "performance_n_plus_one_db_queries": 25,
    "performance_p95_endpoint_regression": 50,
    "monitor_check_in_failure": 75,
    "uptime_domain_failure": 75,
}
"""Group types' default priority (PriorityLevel: 25 low, 50 medium, 75 high)."""


def iso(ts: float | str) -> str:
    """Sentry's timestamp format, of a Unix time or of the RFC 3339 string an SDK may send
    instead (sentry-python 3 sends `2026-12-07T06:03:43.936448Z`; Sentry takes either)."""
    if isinstance(ts, str):
        return datetime.fromisoformat(ts.replace("Z", "+00:00")).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def frame(
    filename: str,
    function: str,
    lineno: int,
    *,
    in_app: bool = True,
    module: str | None = None,
    source: list[str] | None = None,
    abs_path: str | None = None,
    vars: dict[str, Any] | None = None,
    around: int = 5,
) -> dict[str, Any]:
    """A stack frame as SDKs send it: `source` is the file's lines (1-based `lineno`), of
    which `around` lines each side become pre_context / context_line / post_context."""
    found: dict[str, Any] = {
        "filename": filename,
        "abs_path": abs_path or filename,
        "function": function,
        "module": module,
        "lineno": lineno,
        "colno": None,
        "in_app": in_app,
        "vars": vars,
        "package": None,
        "platform": None,
        "raw_function": None,
        "symbol": None,
        "symbol_addr": None,
        "image_addr": None,
        "instruction_addr": None,
        "trust": None,
        "errors": None,
        "data": None,
        "pre_context": None,
        "context_line": None,
        "post_context": None,
    }
    if source:
        at = lineno - 1
        found["pre_context"] = source[max(0, at - around) : at]
        found["context_line"] = source[at] if at < len(source) else None
        found["post_context"] = source[at + 1 : at + 1 + around]
    return found


def breadcrumb(
    category: str,
    message: str | None = None,
    *,
    type: str = "default",
    level: str = "info",
    data: dict[str, Any] | None = None,
    at: float | None = None,
) -> dict[str, Any]:
    """One breadcrumb; http/xhr/fetch crumbs carry their url, method and status_code in
    `data` with no message, navigation crumbs `from` and `to`."""
    return {
        "type": type,
        "category": category,
        "level": level,
        "message": message,
        "data": data,
        "timestamp": at if at is not None else time.time(),
        "event_id": None,
    }


def error_event(
    exc_type: str,
    value: str,
    frames: list[dict[str, Any]],
    *,
    environment: str | None = "production",
    release: str | None = None,
    platform: str = "python",
    level: str = "error",
    handled: bool = False,
    mechanism: str | None = None,
    breadcrumbs: list[dict[str, Any]] | None = None,
    request: dict[str, Any] | None = None,
    tags: dict[str, str] | None = None,
    contexts: dict[str, Any] | None = None,
    user: dict[str, Any] | None = None,
    transaction: str | None = None,
    chained: list[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """An error event (normalized event data): the exception (chained causes first, as
    Sentry lists them, innermost last), its frames, breadcrumbs, request, tags."""
    kind = mechanism or ("generic" if handled else {"python": "excepthook"}.get(platform, "onerror"))
    values: list[dict[str, Any]] = [
        {"type": t, "value": v, "module": None, "stacktrace": None, "mechanism": None}
        for t, v in chained or []
    ]
    values.append(
        {
            "type": exc_type,
            "value": value,
            "module": None,
            "mechanism": {
                "type": kind,
                "handled": handled,
                "description": None,
                "help_link": None,
                "synthetic": None,
                "data": None,
                "meta": None,
            },
            "stacktrace": {"frames": frames},
        }
    )
    all_tags = {"level": level, "handled": "yes" if handled else "no", "mechanism": kind, **(tags or {})}
    if environment:
        all_tags["environment"] = environment
    if release:
        all_tags["release"] = release
    if transaction:
        all_tags["transaction"] = transaction
    in_app = [f for f in frames if f.get("in_app")]
    last = (in_app or frames or [{}])[-1]
    return _event(
        type="error",
        platform=platform,
        level=level,
        environment=environment,
        release=release,
        tags=all_tags,
        contexts=contexts,
        user=user,
        transaction=transaction,
        culprit=transaction or _culprit(last),
        title=f"{exc_type}: {value}".strip(": ")[:200],
        metadata={
            "type": exc_type,
            "value": value,
            "filename": last.get("filename"),
            "function": last.get("function"),
            "in_app_frame_mix": "mixed"
            if in_app and len(in_app) < len(frames)
            else ("in-app-only" if in_app else "system-only"),
        },
        exception={"values": values},
        breadcrumbs={"values": breadcrumbs} if breadcrumbs else None,
        request=request,
    )


def request(
    url: str, method: str = "GET", *, query: str = "", headers: list[tuple[str, str]] | None = None
) -> dict[str, Any]:
    """The `request` interface of a server event (`query_string` as pairs)."""
    pairs = [p.split("=", 1) if "=" in p else [p, ""] for p in query.split("&") if p]
    return {
        "url": url,
        "method": method,
        "query_string": pairs,
        "headers": [list(h) for h in headers or [("User-Agent", "python-requests/2.32")]],
        "cookies": None,
        "data": None,
        "env": None,
        "fragment": None,
        "inferred_content_type": None,
    }


def _culprit(last: dict[str, Any]) -> str:
    where = last.get("module") or last.get("filename") or ""
    return f"{where} in {last.get('function')}" if last.get("function") else str(where)


def _event(**fields: Any) -> dict[str, Any]:
    now = time.time()
    tags = fields.pop("tags") or {}
    event = {
        "event_id": uuid.uuid4().hex,
        "timestamp": now,
        "received": now,
        "logger": "",
        "message": "",
        "dist": None,
        "version": "7",
        "time_spent": None,
        "key_id": "1",
        "hashes": [uuid.uuid4().hex],
        "grouping_config": {
            "id": "newstyle:2023-01-11",
            "enhancements": "KLUv_SAYwQAAkwKRs25ld3N0eWxlOjIwMjMtMDEtMTGQ",
        },
        "sdk": {"name": f"sentry.{fields.get('platform', 'python')}", "version": "2.19.0"},
        "fingerprint": ["{{ default }}"],
        "contexts": {},
        "user": None,
        **{k: v for k, v in fields.items() if v is not None or k in ("release", "environment", "sdk")},
        "tags": sorted(tags.items()),
    }
    event["contexts"] = fields.get("contexts") or {}
    return event


def n_plus_one_event(
    transaction: str,
    query: str,
    repeated: list[str],
    *,
    environment: str = "production",
    release: str | None = None,
    url: str | None = None,
    parent_ms: float = 250.0,
) -> dict[str, Any]:
    """A transaction event whose spans repeat one query (each of `repeated` is one db span's
    description), with the N+1 occurrence the performance detector makes of it (the shape
    of tests/payloads/real/rest/mcp_event_performance_n1.json)."""
    event, spans = _db_transaction(
        transaction,
        [(text, 0.01 * (n + 1), 0.005) for n, text in enumerate(repeated)],
        "db.query",
        parent_ms,
        environment,
        release,
        url,
    )
    event["occurrence"] = occurrence(
        event,
        type_id=1006,
        title=f"N+1 Query: {query}",
        subtitle=f"Database query repeated {len(repeated)} times",
        culprit=query,
        level="warning",
        fingerprint=["n_plus_one_db_queries", query],
        evidence_data={
            "transactionName": transaction,
            "parentSpan": transaction,
            "parentSpanIds": [spans[0]["span_id"]],
            "repeatingSpans": [f"db - {query}"],
            "numberRepeatingSpans": "1",
            "numPatternRepetitions": len(repeated),
            "offenderSpanIds": [span["span_id"] for span in spans[1:]],
            "op": "db",
        },
        evidence_display=[
            {"name": "Offending Spans", "value": query, "important": True},
            {"name": "Repeated", "value": f"{len(repeated)} times", "important": True},
        ],
    )
    return event


def slow_db_query_event(
    transaction: str,
    query: str,
    duration_ms: float,
    *,
    environment: str = "production",
    release: str | None = None,
    url: str | None = None,
) -> dict[str, Any]:
    """A transaction event with one slow SELECT span and the Slow DB Query occurrence Sentry
    makes of it: group type 1001, evidence as SlowDBQueryDetector writes it (op, the
    offending span's id, `repeating_spans` "db - <query>", one span), camelCased as the REST
    API shows occurrences (getsentry/sentry src/sentry/utils/performance_issues/detectors/
    slow_db_query_detector.py; the title is PerformanceSlowDBQueryGroupType's description)."""
    event, spans = _db_transaction(
        transaction, [(query, 0.01, duration_ms / 1000)], "db", duration_ms + 50, environment, release, url
    )
    slow = spans[1]
    event["occurrence"] = occurrence(
        event,
        type_id=1001,
        title="Slow DB Query",
        subtitle=query,
        culprit=transaction,
        level="info",
        fingerprint=[f"1-1001-{uuid.uuid4().hex}"],
        evidence_data={
            "op": "db",
            "causeSpanIds": [],
            "parentSpanIds": [],
            "offenderSpanIds": [slow["span_id"]],
            "transactionName": transaction,
            "repeatingSpans": f"db - {query}",
            "repeatingSpansCompact": query,
            "numRepeatingSpans": "1",
        },
        evidence_display=[{"name": "Offending Spans", "value": f"db - {query}", "important": True}],
    )
    return event


def _db_transaction(
    transaction: str,
    queries: list[tuple[str, float, float]],
    op: str,
    length_ms: float,
    environment: str,
    release: str | None,
    url: str | None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A transaction event (an http.server span of `length_ms`) whose child spans run
    `queries` — (description, seconds after the start, seconds taken) — as `op` spans; returns
    the event and its spans, the parent first."""
    start = time.time() - 1 - length_ms / 1000
    trace_id = uuid.uuid4().hex
    parent = {
        "span_id": uuid.uuid4().hex[:16],
        "trace_id": trace_id,
        "parent_span_id": uuid.uuid4().hex[:16],
        "op": "http.server",
        "description": transaction,
        "status": "ok",
        "start_timestamp": start,
        "timestamp": start + length_ms / 1000,
        "data": {"http.request.method": transaction.split(" ")[0], "url.path": transaction.split(" ")[-1]},
    }
    spans = [parent] + [
        {
            "span_id": uuid.uuid4().hex[:16],
            "trace_id": trace_id,
            "parent_span_id": parent["span_id"],
            "op": op,
            "description": text,
            "status": "ok",
            "start_timestamp": start + after,
            "timestamp": start + after + took,
            "data": {"db.system": "postgresql", "db.operation": text.split(" ")[0]},
        }
        for text, after, took in queries
    ]
    tags = {"environment": environment, "transaction": transaction}
    if release:
        tags["release"] = release
    event = _event(
        type="transaction",
        platform="python",
        level="info",
        environment=environment,
        release=release,
        tags=tags,
        transaction=transaction,
        culprit=transaction,
        title=transaction,
        metadata={"location": transaction, "title": transaction},
        contexts={
            "trace": {"trace_id": trace_id, "span_id": parent["span_id"], "op": "http.server", "status": "ok"}
        },
        spans=spans,
        start_timestamp=start,
        request=request(url) if url else None,
    )
    return event, spans


def endpoint_regression_event(
    transaction: str, before_ms: float, after_ms: float, *, breakpoint: float | None = None
) -> dict[str, Any]:
    """The generic event of an endpoint regression: no entries, what happened only in the
    occurrence (tests/payloads/real/rest/mcp_event_generic_regression.json)."""
    change = f"Increased from {before_ms:.2f}ms to {after_ms:.2f}ms (P95)"
    event = _event(
        type="generic",
        platform="python",
        level="info",
        tags={"level": "info", "transaction": transaction},
        culprit=transaction,
        title="Endpoint Regression",
        metadata={"title": "Endpoint Regression"},
    )
    event["occurrence"] = occurrence(
        event,
        type_id=1018,
        title="Endpoint Regression",
        subtitle=change,
        culprit=transaction,
        level="info",
        fingerprint=[uuid.uuid4().hex],
        evidence_data={
            "absolutePercentageChange": after_ms / before_ms,
            "aggregateRange1": before_ms,
            "aggregateRange2": after_ms,
            "breakpoint": int(breakpoint or time.time() - 3600),
            "change": "regression",
            "transaction": transaction,
        },
        evidence_display=[
            {
                "name": "Regression",
                "value": f"{transaction} duration {change[0].lower()}{change[1:]}",
                "important": True,
            },
            {"name": "Transaction", "value": transaction, "important": True},
        ],
    )
    return event


def monitor_failure_event(
    slug: str,
    name: str | None = None,
    *,
    environment: str = "production",
    reason: str = "A missed check-in was detected",
    last_ok: str = "Never",
    schedule: str = "* * * * *",
) -> dict[str, Any]:
    """A cron monitor's failure, as `send_incident_occurrence` makes it: title "Monitor
    failure: <name>", evidence (failure reason, environment, last successful check-in),
    tags monitor.id / monitor.slug / monitor.incident, the `monitor` context."""
    name = name or slug
    guid = str(uuid.uuid4())
    incident = str(int(time.time()) % 100000)
    event = _event(
        type="generic",
        platform="other",
        level="error",
        environment=environment,
        tags={
            "monitor.id": guid,
            "monitor.slug": slug,
            "monitor.incident": incident,
            "environment": environment,
        },
        culprit="",
        title=f"Monitor failure: {name}",
        metadata={"title": f"Monitor failure: {name}"},
        contexts={
            "monitor": {
                "id": guid,
                "slug": slug,
                "name": name,
                "config": {
                    "schedule_type": "crontab",
                    "schedule": schedule,
                    "checkin_margin": 2,
                    "max_runtime": 5,
                },
                "status": "active",
            }
        },
        sdk=None,
    )
    event["occurrence"] = occurrence(
        event,
        type_id=4001,
        title=f"Monitor failure: {name}",
        subtitle="Your monitor has reached its failure threshold.",
        culprit="",
        level="error",
        fingerprint=[uuid.uuid4().hex],
        evidence_data={},
        evidence_display=[
            {"name": "Failure reason", "value": reason, "important": True},
            {"name": "Environment", "value": environment, "important": False},
            {"name": "Last successful check-in", "value": last_ok, "important": False},
        ],
    )
    return event


def uptime_failure_event(
    url: str,
    *,
    environment: str = "prod",
    reason: str = "failure - status code 503",
    duration_ms: int = 1203,
    method: str = "GET",
    status_code: int | None = 503,
    uptime_rule: str = "1",
) -> dict[str, Any]:
    """An uptime monitor's downtime, as `build_occurrence_from_result` makes it: title
    "Downtime detected for <url>", evidence (failure reason, duration, method, status
    code), the tag `uptime_rule`, environment `prod` unless the detector names one."""
    evidence = [
        {"name": "Failure reason", "value": reason, "important": True},
        {"name": "Duration", "value": f"{duration_ms}ms", "important": False},
    ]
    if status_code is not None:
        evidence += [
            {"name": "Method", "value": method, "important": False},
            {"name": "Status Code", "value": str(status_code), "important": False},
        ]
    event = _event(
        type="generic",
        platform="other",
        level="error",
        environment=environment,
        tags={"uptime_rule": uptime_rule, "environment": environment},
        culprit="",
        title=f"Downtime detected for {url}",
        metadata={"title": f"Downtime detected for {url}"},
        contexts={"trace": {"trace_id": uuid.uuid4().hex, "span_id": None}},
        sdk=None,
    )
    event["occurrence"] = occurrence(
        event,
        type_id=7001,
        title=f"Downtime detected for {url}",
        subtitle="Your monitored domain is down",
        culprit="",
        level="error",
        fingerprint=[f"uptime-detector:{uptime_rule}"],
        evidence_data={},
        evidence_display=evidence,
    )
    return event


def occurrence(
    event: dict[str, Any],
    *,
    type_id: int,
    title: str,
    subtitle: str,
    culprit: str,
    level: str,
    fingerprint: list[str],
    evidence_data: dict[str, Any],
    evidence_display: list[dict[str, Any]],
) -> dict[str, Any]:
    """An issue occurrence, camelCased as the REST API and webhooks show it."""
    slug = issue_types.GROUP_TYPES[type_id][0]
    return {
        "id": uuid.uuid4().hex,
        "projectId": None,
        "eventId": event["event_id"],
        "fingerprint": fingerprint,
        "issueTitle": title,
        "subtitle": subtitle,
        "resourceId": None,
        "evidenceData": evidence_data,
        "evidenceDisplay": evidence_display,
        "type": type_id,
        "detectionTime": time.time(),
        "level": level,
        "culprit": culprit,
        "priority": DEFAULT_PRIORITY.get(slug, 50),
        "assignee": None,
    }
