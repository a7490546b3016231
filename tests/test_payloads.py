"""Each Sentry resource parses into its model and normalises into a rule subject."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from remediator.errors import PayloadError
from remediator.payloads import decode_json, parse_webhook, subject_of
from remediator.payloads.models import (
    ErrorWebhook,
    EventAlertWebhook,
    IssueWebhook,
    MetricAlertWebhook,
)
from remediator.testing import SentryStandIn
from remediator.testing import sentry_events as shapes
from tests.helpers import payload


def test_issue_created_parses_with_project_metadata_and_string_id() -> None:
    hook = parse_webhook("issue", payload("issue_created"))
    assert isinstance(hook, IssueWebhook)
    subject = subject_of("issue", hook)
    assert subject.issue_id == "1170820242"
    assert subject.title == "ReferenceError: blooopy is not defined"
    assert subject.culprit == "?(runner)"
    assert subject.project == "front-end"
    assert subject.exception_types == ("ReferenceError",)
    assert (subject.actor_type, subject.actor_id) == ("application", "sentry")


@pytest.mark.parametrize("action", ["created", "resolved", "assigned", "ignored", "archived", "unresolved"])
def test_every_issue_action_parses(action: str) -> None:
    document = payload("issue_created") | {"action": action}
    assert subject_of("issue", parse_webhook("issue", document)).action == action


def test_event_alert_tags_are_pairs_and_become_a_mapping() -> None:
    hook = parse_webhook("event_alert", payload("event_alert_triggered"))
    assert isinstance(hook, EventAlertWebhook)
    assert hook.data.triggered_rule == "Very Important Alert Rule!"
    subject = subject_of("event_alert", hook)
    assert subject.tags["browser.name"] == "Chrome"
    assert subject.issue_id == "1117540176"
    assert subject.event_id == "e4874d664c3540c1a32eab185f12c5ab"
    assert subject.exception_types == ("ReferenceError",)


def test_error_created_has_the_event_under_data_error() -> None:
    document = payload("event_alert_triggered")
    event = document["data"]["event"] | {"environment": "production"}
    hook = parse_webhook(
        "error", {"action": "created", "data": {"error": event}, "installation": document["installation"]}
    )
    assert isinstance(hook, ErrorWebhook)
    subject = subject_of("error", hook)
    assert subject.environment == "production"
    assert subject.level == "error"


def test_event_environment_falls_back_to_its_tag() -> None:
    document = payload("event_alert_triggered")
    document["data"]["event"]["tags"].append(["environment", "staging"])
    assert subject_of("event_alert", parse_webhook("event_alert", document)).environment == "staging"


@pytest.mark.parametrize("action", ["critical", "warning", "resolved"])
def test_metric_alert_parses_with_rule_and_action_as_level(action: str) -> None:
    document = payload("metric_alert_resolved") | {"action": action}
    hook = parse_webhook("metric_alert", document)
    assert isinstance(hook, MetricAlertWebhook)
    assert hook.data.metric_alert.alert_rule.name == "Too many errors"
    subject = subject_of("metric_alert", hook)
    assert subject.level == action
    assert subject.project == "bar"
    assert subject.issue_id is None


def test_body_missing_the_issue_is_a_payload_error_naming_the_field() -> None:
    document = payload("issue_created")
    del document["data"]["issue"]["project"]
    with pytest.raises(PayloadError, match=r"data\.issue\.project"):
        parse_webhook("issue", document)


@pytest.mark.parametrize("body", [b"", b"{", b"\xff\xfe", b"[1, 2", b"nul"])
def test_malformed_json_is_a_payload_error(body: bytes) -> None:
    with pytest.raises(PayloadError, match="not valid JSON"):
        decode_json(body)


def test_wrong_top_level_type_is_a_payload_error() -> None:
    with pytest.raises(PayloadError, match="does not fit"):
        parse_webhook("issue", [1, 2, 3])


# -- real bodies (tests/payloads/real/webhooks/) and what a rule sees of each ------------------
def real_webhook(name: str) -> dict[str, Any]:
    return json.loads((Path(__file__).parent / "payloads" / "real" / "webhooks" / f"{name}.json").read_text())


def test_an_issue_body_carries_category_type_and_both_project_names_but_no_environment() -> None:
    subject = subject_of("issue", parse_webhook("issue", real_webhook("ipe_issue_assigned")))
    assert (subject.project, subject.project_id) == ("ipe", "456")
    assert (subject.issue_category, subject.issue_type) == ("error", "error")  # from the older `type`
    assert (subject.platform, subject.handled, subject.level) == ("javascript", "yes", "error")
    assert subject.environment == "" and subject.tags == {}  # Sentry's issue serializer sends neither
    assert subject.exception_types == ("Another Error #1",)


def test_an_error_body_carries_the_project_only_as_its_id() -> None:
    subject = subject_of("error", parse_webhook("error", real_webhook("docs_error_created")))
    assert (subject.project, subject.project_id) == ("", "1")  # the slug is looked up when a rule asks
    assert (subject.issue_category, subject.issue_type, subject.handled) == ("error", "error", "no")
    assert subject.platform == "javascript" and subject.release == "" and subject.environment == ""
    assert subject.tags["browser.name"] == "Chrome"


def test_a_metric_alert_without_projects_still_parses() -> None:
    subject = subject_of(
        "metric_alert", parse_webhook("metric_alert", real_webhook("ipe_metric_alert_critical"))
    )
    assert (subject.title, subject.level, subject.project, subject.aggregate) == (
        "metric alert",
        "critical",
        "",
        "",
    )


@pytest.mark.parametrize(
    ("event", "category", "issue_type", "priority"),
    [
        (shapes.monitor_failure_event("batch-worker-prod"), "cron", "monitor_check_in_failure", "high"),
        (shapes.uptime_failure_event("https://shop.example/"), "uptime", "uptime_domain_failure", "high"),
        (
            shapes.n_plus_one_event("GET /api/users", "SELECT 1", ["SELECT 1", "SELECT 1"]),
            "performance",
            "performance_n_plus_one_db_queries",
            "low",
        ),
    ],
)
def test_issue_platform_issues_are_told_apart_by_category_and_type_in_every_body(
    event: dict[str, Any], category: str, issue_type: str, priority: str
) -> None:
    standin = SentryStandIn()  # not started: only its shapes are used
    standin.add_issue("61", event=event)
    issue = subject_of("issue", parse_webhook("issue", standin.issue_webhook("61")))
    assert (issue.issue_category, issue.issue_type, issue.priority) == (category, issue_type, priority)
    alert = subject_of("event_alert", parse_webhook("event_alert", standin.event_webhook("61")))
    # An event body names its group type only by the occurrence's number.
    assert (alert.issue_category, alert.issue_type, alert.priority) == (category, issue_type, priority)
    assert (alert.project, alert.project_id) == ("", "1")
