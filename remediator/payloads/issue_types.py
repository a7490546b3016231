"""Sentry's issue types and categories, for bodies that name them only by number or not at all.

Issues carry `issueCategory` and `issueType` (the group type's slug); an event carries,
when the issue platform made it, an `occurrence` whose `type` is the group type's number,
and otherwise only the event's own `type` (`error`, `default`, `transaction`, `generic`).
The numbers and slugs are Sentry's (getsentry/sentry `src/sentry/issues/grouptype.py`,
`src/sentry/monitors/grouptype.py`, `src/sentry/uptime/grouptype.py`); the categories are
the ones Sentry's issue serializer prints (`GroupCategory` names, lower case). Newer Sentry
also prints a second generation of categories (`outage` for cron and uptime, `metric` for
endpoint regressions, `db_query`...): rules that want both name both. Pure.
"""

from __future__ import annotations

GROUP_TYPES: dict[int, tuple[str, str]] = {
    1: ("error", "error"),
    1001: ("performance_slow_db_query", "performance"),
    1004: ("performance_render_blocking_asset_span", "performance"),
    1006: ("performance_n_plus_one_db_queries", "performance"),
    1007: ("performance_consecutive_db_queries", "performance"),
    1008: ("performance_file_io_main_thread", "performance"),
    1009: ("performance_consecutive_http", "performance"),
    1010: ("performance_n_plus_one_api_calls", "performance"),
    1011: ("performance_m_n_plus_one_db_queries", "performance"),
    1012: ("performance_uncompressed_assets", "performance"),
    1013: ("performance_db_main_thread", "performance"),
    1015: ("performance_large_http_payload", "performance"),
    1016: ("performance_http_overhead", "performance"),
    1017: ("performance_duration_regression", "performance"),
    1018: ("performance_p95_endpoint_regression", "performance"),
    2001: ("profile_file_io_main_thread", "performance"),
    2002: ("profile_image_decode_main_thread", "performance"),
    2003: ("profile_json_decode_main_thread", "performance"),
    2011: ("profile_function_regression", "performance"),
    4001: ("monitor_check_in_failure", "cron"),
    6001: ("feedback", "feedback"),
    7001: ("uptime_domain_failure", "uptime"),
    8001: ("metric_issue", "metric_alert"),
}
"""Group type number -> (slug, category)."""

_BY_SLUG = {slug: category for slug, category in GROUP_TYPES.values()}

ERROR_EVENT_TYPES = frozenset({"error", "default", "csp", "hpkp", "expectct", "expectstaple", "nel"})
"""Event types that make error issues (`type` of an event, and of an issue in older bodies)."""

OUTAGE_CATEGORIES = frozenset({"cron", "uptime", "outage"})
"""Categories whose issues say a service or job is down: no code to analyse."""

NO_CODE_CATEGORIES = OUTAGE_CATEGORIES | {"feedback"}
"""Categories whose events carry no stack trace or spans an analysis could read."""

PRIORITY_NAMES = {25: "low", 50: "medium", 75: "high"}
"""Sentry's PriorityLevel numbers (an occurrence's `priority`) by the name issues print."""


def category_of_type(issue_type: str) -> str:
    """The category of a group type slug ("" when unknown)."""
    if issue_type in _BY_SLUG:
        return _BY_SLUG[issue_type]
    return "performance" if issue_type.startswith(("performance_", "profile_")) else ""


def from_occurrence(type_id: object) -> tuple[str, str]:
    """(issue type, category) of an occurrence's numeric `type`, ("", "") when unknown."""
    if isinstance(type_id, int) and not isinstance(type_id, bool):
        return GROUP_TYPES.get(type_id, ("", ""))
    return "", ""


def from_event_type(event_type: object) -> tuple[str, str]:
    """(issue type, category) an event's own `type` implies: errors and transactions
    (performance issues are detected on transactions); ("", "") otherwise."""
    if event_type in ERROR_EVENT_TYPES:
        return "error", "error"
    if event_type == "transaction":
        return "", "performance"
    return "", ""


def priority_name(value: object) -> str:
    """An issue's `priority` ("low", "medium", "high"), from its name or its number."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return PRIORITY_NAMES.get(value, "")
    return ""
