"""The Sentry stand-in answers as Sentry does: checked against bodies and REST answers
written by Sentry's own teams (tests/payloads/real/, sources in its README)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import requests

from remediator.testing import SentryStandIn
from remediator.testing import sentry_events as shapes
from tests.helpers import STANDIN_TOKEN

REAL = Path(__file__).parent / "payloads" / "real"
AUTH = {"Authorization": f"Bearer {STANDIN_TOKEN}"}


def real(name: str) -> dict[str, Any]:
    return copy.deepcopy(json.loads((REAL / name).read_text()))


def get(standin: SentryStandIn, path: str, **params: str) -> Any:
    answer = requests.get(
        f"{standin.api_url}/organizations/acme/{path}", headers=AUTH, params=params, timeout=5
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def cart_error() -> dict[str, Any]:
    source = ["def average(items):", "    return sum(items) / len(items)"]
    return shapes.error_event(
        "ZeroDivisionError",
        "division by zero",
        [
            shapes.frame("flask/app.py", "dispatch", 10, in_app=False, module="flask.app"),
            shapes.frame("app/cart.py", "average", 2, module="app.cart", source=source),
        ],
        release="shop@1.4.2",
        breadcrumbs=[
            shapes.breadcrumb(
                "xhr", type="http", data={"url": "/api/cart", "method": "GET", "status_code": 500}
            )
        ],
        request=shapes.request("https://shop.example/api/cart", query="page=2"),
    )


PAIRS = [
    ("rest/openapi_issue_details_python.json", "rest/openapi_event_js_forbidden.json"),
    ("rest/mcp_issue_performance_n1.json", "rest/mcp_event_performance_n1.json"),
    ("rest/mcp_issue_metric_regression.json", "rest/mcp_event_generic_regression.json"),
]


@pytest.mark.parametrize(("issue_file", "event_file"), PAIRS)
def test_recorded_rest_answers_are_served_back_as_sentry_served_them(
    standin: SentryStandIn, issue_file: str, event_file: str
) -> None:
    issue, event = real(issue_file), real(event_file)
    standin.add_recorded_issue(issue, [event])
    assert get(standin, f"issues/{issue['id']}/") == issue
    assert get(standin, f"issues/{issue['id']}/events/latest/") == event
    assert get(standin, f"issues/{issue['id']}/events/{event['eventID']}/") == event


def test_an_error_event_has_every_key_sentry_s_rest_event_has(standin: SentryStandIn) -> None:
    sentry = real("rest/openapi_event_js_forbidden.json")
    standin.add_issue("42", event=cart_error())
    ours = get(standin, "issues/42/events/latest/")
    assert set(sentry) <= set(ours)
    assert [e["type"] for e in ours["entries"]] == ["exception", "breadcrumbs", "request"]
    kinds = {e["type"]: e["data"] for e in ours["entries"]}
    sentry_kinds = {e["type"]: e["data"] for e in sentry["entries"]}
    sentry_frame = sentry_kinds["exception"]["values"][0]["stacktrace"]["frames"][0]
    frames = kinds["exception"]["values"][0]["stacktrace"]["frames"]
    assert set(sentry_frame) <= set(frames[0])
    assert [f["inApp"] for f in frames] == [False, True]
    assert frames[1]["context"] == [[1, "def average(items):"], [2, "    return sum(items) / len(items)"]]
    assert set(sentry_kinds["exception"]["values"][0]) <= set(kinds["exception"]["values"][0])
    crumb = kinds["breadcrumbs"]["values"][0]
    assert set(sentry_kinds["breadcrumbs"]["values"][0]) <= set(crumb)
    assert crumb["message"] is None and crumb["data"]["status_code"] == 500
    assert set(sentry_kinds["request"]) <= set(kinds["request"])
    assert kinds["request"]["query"] == [["page", "2"]]
    # The environment only as a tag; tags as key/value objects; the release an object.
    assert "environment" not in ours
    assert {"key": "environment", "value": "production"} in ours["tags"]
    assert set(sentry["release"]) <= set(ours["release"]) and ours["release"]["version"] == "shop@1.4.2"


def test_an_event_without_a_release_has_a_null_release(standin: SentryStandIn) -> None:
    standin.add_issue("43", event=shapes.error_event("KeyError", "'id'", [], release=None))
    assert get(standin, "issues/43/events/latest/")["release"] is None


def test_an_issue_has_every_key_of_sentry_s_issue_details_and_its_webhook_only_the_base_fields(
    standin: SentryStandIn,
) -> None:
    standin.add_issue("44", event=cart_error(), project={"id": "2", "slug": "shop", "name": "Shop"})
    ours = get(standin, "issues/44/")
    for name in ("openapi_issue_details_python", "mcp_issue_performance_n1", "mcp_issue_metric_regression"):
        assert set(real(f"rest/{name}.json")) <= set(ours), name
    assert (ours["issueCategory"], ours["issueType"], ours["substatus"]) == ("error", "error", "new")
    assert ours["metadata"]["type"] == "ZeroDivisionError" and ours["metadata"]["filename"] == "app/cart.py"
    assert ours["firstRelease"]["version"] == "shop@1.4.2" and ours["project"]["slug"] == "shop"
    hook = standin.issue_webhook("44")["data"]["issue"]
    assert set(real("webhooks/ipe_issue_assigned.json")["data"]["issue"]) <= set(hook)
    for detail in ("stats", "tags", "activity", "seenBy", "participants"):
        assert detail not in hook
    assert "environment" not in hook and "environment" not in hook["metadata"]


def test_an_error_webhook_carries_the_event_as_sentry_s_error_webhook_does(standin: SentryStandIn) -> None:
    sentry = real("webhooks/docs_error_created.json")["data"]["error"]
    standin.add_issue("45", event=cart_error())
    ours = standin.event_webhook("45", "error")["data"]["error"]
    assert set(sentry) <= set(ours)
    assert ours["project"] == standin.project_id and ours["issue_id"] == "45"
    frame = sentry["exception"]["values"][0]["stacktrace"]["frames"][0]
    assert set(frame) <= set(ours["exception"]["values"][0]["stacktrace"]["frames"][0])
    assert set(sentry["exception"]["values"][0]["mechanism"]) <= set(
        ours["exception"]["values"][0]["mechanism"]
    )
    assert ["handled", "no"] in ours["tags"]
    alert = standin.event_webhook("45")
    assert alert["action"] == "triggered" and alert["data"]["triggered_rule"] == "Send to remediator"


def test_an_n_plus_one_issue_is_a_performance_issue_whose_event_has_its_occurrence_and_spans(
    standin: SentryStandIn,
) -> None:
    sentry = real("rest/mcp_event_performance_n1.json")
    query = "SELECT * FROM users WHERE id = %s"
    event = shapes.n_plus_one_event(
        "GET /api/users", query, [f"SELECT * FROM users WHERE id = {n}" for n in range(1, 26)]
    )
    standin.add_issue("46", event=event)
    ours = get(standin, "issues/46/events/latest/")
    assert set(sentry) <= set(ours)
    assert set(sentry["occurrence"]) == set(ours["occurrence"])
    assert set(sentry["occurrence"]["evidenceData"]) == set(ours["occurrence"]["evidenceData"])
    assert ours["occurrence"]["type"] == 1006 and ours["occurrence"]["issueTitle"] == f"N+1 Query: {query}"
    (spans,) = [e["data"] for e in ours["entries"] if e["type"] == "spans"]
    assert set(sentry["entries"][0]["data"][1]) <= set(spans[1]) and len(spans) == 26
    issue = get(standin, "issues/46/")
    assert (issue["issueCategory"], issue["issueType"]) == (
        "performance",
        "performance_n_plus_one_db_queries",
    )
    assert issue["title"] == f"N+1 Query: {query}" and issue["level"] == "warning"


def test_an_endpoint_regression_says_what_happened_only_in_its_occurrence(standin: SentryStandIn) -> None:
    sentry = real("rest/mcp_event_generic_regression.json")
    standin.add_issue("47", event=shapes.endpoint_regression_event("POST /oauth/token", 909.77, 1711.36))
    ours = get(standin, "issues/47/events/latest/")
    assert set(sentry) <= set(ours) and ours["entries"] == [] and ours["type"] == "generic"
    assert set(sentry["occurrence"]["evidenceData"]) == set(ours["occurrence"]["evidenceData"])
    assert ours["occurrence"]["subtitle"] == "Increased from 909.77ms to 1711.36ms (P95)"
    assert get(standin, "issues/47/")["issueType"] == "performance_p95_endpoint_regression"


def test_a_cron_monitor_failure_is_made_as_sentry_s_monitors_make_it(standin: SentryStandIn) -> None:
    # src/sentry/monitors/logic/incident_occurrence.py: send_incident_occurrence
    standin.add_issue("48", event=shapes.monitor_failure_event("nightly-export", "Nightly export"))
    issue = get(standin, "issues/48/")
    assert issue["title"] == "Monitor failure: Nightly export"
    assert (issue["issueCategory"], issue["issueType"], issue["priority"]) == (
        "cron",
        "monitor_check_in_failure",
        "high",
    )
    event = get(standin, "issues/48/events/latest/")
    tags = {t["key"]: t["value"] for t in event["tags"]}
    assert tags["monitor.slug"] == "nightly-export" and "monitor.id" in tags and "monitor.incident" in tags
    assert [d["name"] for d in event["occurrence"]["evidenceDisplay"]] == [
        "Failure reason",
        "Environment",
        "Last successful check-in",
    ]
    assert event["contexts"]["monitor"]["slug"] == "nightly-export" and event["entries"] == []


def test_an_uptime_failure_is_made_as_sentry_s_uptime_checks_make_it(standin: SentryStandIn) -> None:
    # src/sentry/uptime/issue_platform.py: build_occurrence_from_result, build_event_data_for_occurrence
    standin.add_issue("49", event=shapes.uptime_failure_event("https://shop.example/health"))
    issue = get(standin, "issues/49/")
    assert issue["title"] == "Downtime detected for https://shop.example/health"
    assert (issue["issueCategory"], issue["issueType"]) == ("uptime", "uptime_domain_failure")
    event = get(standin, "issues/49/events/latest/")
    assert [d["name"] for d in event["occurrence"]["evidenceDisplay"]] == [
        "Failure reason",
        "Duration",
        "Method",
        "Status Code",
    ]
    assert {t["key"]: t["value"] for t in event["tags"]}["environment"] == "prod"


def test_issue_tag_values_count_the_issue_s_events(standin: SentryStandIn) -> None:
    standin.add_issue("50", event=cart_error())
    standin.add_event(
        "50", detail=shapes.error_event("ZeroDivisionError", "division by zero", [], environment="staging")
    )
    standin.add_event("50")
    values = get(standin, "issues/50/tags/environment/")
    assert values["key"] == "environment" and values["totalValues"] == 3
    assert [(v["value"], v["count"]) for v in values["topValues"]] == [("staging", 2), ("production", 1)]


def test_the_issue_list_keeps_resolved_issues_when_the_query_is_empty(standin: SentryStandIn) -> None:
    standin.add_issue("51", event=cart_error())
    standin.add_issue("52", event=cart_error())
    standin.issues["52"]["status"] = "resolved"
    assert {i["id"] for i in get(standin, "issues/")} == {"51"}  # is:unresolved by default
    assert {i["id"] for i in get(standin, "issues/", query="")} == {"51", "52"}
