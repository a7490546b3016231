"""Each Sentry resource parses into its model and normalises into a rule subject."""

from __future__ import annotations

import pytest

from remediator.errors import PayloadError
from remediator.payloads import decode_json, parse_webhook, subject_of
from remediator.payloads.models import (
    ErrorWebhook,
    EventAlertWebhook,
    IssueWebhook,
    MetricAlertWebhook,
)
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
