"""Rule files are validated at load, and the shipped rules implement the seed's mapping."""

from __future__ import annotations

from pathlib import Path

import pytest

from remediator.defaults import PriorityClass
from remediator.errors import RuleError
from remediator.listeners import strategies
from remediator.payloads import Subject, parse_webhook, subject_of
from remediator.remediation_scripts import registry
from remediator.rules import load_rules, parse_rules, plan
from remediator.settings import EXAMPLE_RULES
from tests.helpers import payload

VALID = """
rules:
  - name: probe
    match: {title: {contains: boom}}
    job: {script: http-request, tier: prod, class: A, params: {url: "http://x/{{ issue_id }}"}}
"""


def load(text: str) -> object:
    return parse_rules(text, scripts=registry(), verifications=strategies())


@pytest.mark.parametrize(
    "text,message",
    [
        (VALID.replace("title:", "titel:"), "rule 'probe': match.titel: unknown field"),
        (
            VALID.replace("http-request", "restart-db"),
            "rule 'probe': job.script: unknown script 'restart-db'; known: analyze-production-error",
        ),
        (
            VALID.replace("{contains: boom}", "{regex: '(unclosed'}"),
            "rule 'probe': match.title.regex: invalid regular expression",
        ),
        (
            VALID.replace("tier: prod", "tier: staging"),
            "rule 'probe': job.tier: unknown tier 'staging'; known: prod, nonprod",
        ),
        (VALID.replace("class: A", "class: Z"), "rule 'probe': job.class:"),
        (VALID.replace("{{ issue_id }}", "{{ issue_id"), "rule 'probe': job.params: template does not"),
        (
            VALID.replace("{contains: boom}", "{contains: boom, equals: boom}"),
            "rule 'probe': match.title: Value error, give exactly one of",
        ),
        (
            VALID.replace("match: {", "match: {resource: [comment], "),
            "rule 'probe': match.resource: Value error, unknown resource comment",
        ),
        (VALID + VALID.split("rules:")[1], "rule #2: name: 'probe' is used by an earlier rule too"),
        (
            VALID.replace("params: {", "params: {method: FETCH, "),
            "rule 'probe': job.params: do not fit script 'http-request': method: Input should be",
        ),
        (
            VALID.replace("params: {", "params: {colour: red, "),
            "rule 'probe': job.params: do not fit script 'http-request': colour: Extra inputs are not",
        ),
        (
            VALID.replace('params: {url: "http://x/{{ issue_id }}"}', "params: {argv: 'rm -rf /'}").replace(
                "http-request", "run-command"
            ),
            "rule 'probe': job.params: do not fit script 'run-command': argv: Input should be a valid list",
        ),
        (
            VALID.replace('"http://x/{{ issue_id }}"', '"ftp://x/{{ issue_id }}"'),
            "job.params: do not fit script 'http-request': url: Value error, 'ftp://x/1' is not an http",
        ),
        (
            VALID.replace("rules:", "version: 2\nrules:"),
            "version: this remediator reads rule files of version 1",
        ),
        (
            VALID.replace("    match:", "    verify_after: 0\n    match:"),
            "rule 'probe': verify_after: at least 60s",
        ),
        (
            VALID.replace("    match:", "    verify: quiet\n    match:"),
            "rule 'probe': verify: unknown verification 'quiet'; known: none, rebuild, sentry",
        ),
        (
            "rules:\n  - match: {}\n    job: {script: http-request, tier: prod, class: A}\n",
            "rule #1: name: Field required",
        ),
        (
            VALID.replace("class: A,", "class: A, time_limit: 9999,"),
            "rule 'probe': job: Value error, time_limit 9999s is over script 'http-request'",
        ),
        ("- just a list", "expected a mapping with a 'rules' list"),
        ("rules: [", "not valid YAML"),
    ],
)
def test_invalid_rules_fail_to_load_naming_rule_and_field(text: str, message: str) -> None:
    with pytest.raises(RuleError) as caught:
        load(text)
    assert message.replace("Value error, ", "") in str(caught.value)


def test_every_problem_in_the_file_is_reported_at_once() -> None:
    # Given a file with a duplicate name, a restart-db-pool rule without params and a bad tier
    text = (
        VALID
        + VALID.split("rules:")[1]
        + """
  - name: pool
    match: {culprit: {contains: db}}
    job: {script: restart-db-pool, tier: moon, class: B}
"""
    )
    with pytest.raises(RuleError) as caught:
        load(text)
    message = str(caught.value)
    # Then each is named, with its rule and field
    assert "rule #2: name: 'probe' is used by an earlier rule too" in message
    assert "rule 'pool': job.tier: unknown tier 'moon'" in message
    assert (
        "rule 'pool': job.params: do not fit script 'restart-db-pool': drain_url: Field required" in message
    )


def test_a_param_that_is_one_template_expression_is_checked_when_a_job_renders_it() -> None:
    text = VALID.replace('"http://x/{{ issue_id }}"', '"{{ tags.callback }}"')
    assert load(text).rules[0].job.params == {"url": "{{ tags.callback }}"}  # type: ignore[attr-defined]


def test_a_file_without_a_version_says_which_it_assumed() -> None:
    assert load(VALID).notes == ("no `version:` given: read as version 1",)  # type: ignore[attr-defined]
    assert load("version: 1\n" + VALID).notes == ()  # type: ignore[attr-defined]


def test_a_rule_may_say_its_jobs_are_never_verified() -> None:
    text = VALID.replace("    match:", "    verify: none\n    match:")
    assert load(text).rules[0].verify == "none"  # type: ignore[attr-defined]


def test_approval_tiers_decide_which_class_a_rules_wait_by_default() -> None:
    prod_a = parse_rules(VALID, scripts=registry()).rules[0]
    assert prod_a.needs_approval()
    nonprod_a = parse_rules(VALID.replace("tier: prod", "tier: nonprod"), scripts=registry()).rules[0]
    assert not nonprod_a.needs_approval()
    everywhere = parse_rules(
        VALID.replace("tier: prod", "tier: nonprod"), scripts=registry(), approval_tiers=("prod", "nonprod")
    ).rules[0]
    assert everywhere.needs_approval()
    said_no = parse_rules(VALID.replace("    match:", "    approval: false\n    match:"), scripts=registry())
    assert not said_no.rules[0].needs_approval()


def test_missing_rule_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match="cannot read the rule file"):
        load_rules(tmp_path / "nope.yaml")


def test_configured_tiers_are_the_ones_rules_may_use() -> None:
    text = VALID.replace("tier: prod", "tier: edge")
    assert parse_rules(text, scripts=registry(), tiers=("edge",)).rules[0].job.tier == "edge"


def _issue(**changes: object) -> Subject:
    document = payload("issue_created")
    issue = document["data"]["issue"]
    for key, value in changes.items():
        if key == "type":
            issue["metadata"]["type"] = value
        else:
            issue[key] = value
    return subject_of("issue", parse_webhook("issue", document))


def _production_event() -> Subject:
    document = payload("event_alert_triggered")
    document["data"]["event"]["environment"] = "production"
    return subject_of("event_alert", parse_webhook("event_alert", document))


SEED = [
    (
        lambda: _issue(title="Build failed: tsc exited 2"),
        "fix-build-errors",
        "nonprod",
        "B",
        "ci-cd",
        "remediator.nonprod",
        3,
    ),
    (
        lambda: _issue(culprit="app.database.pool in acquire"),
        "restart-db-pool",
        "prod",
        "A",
        "self-healing",
        "remediator.prod",
        0,
    ),
    (
        lambda: _issue(type="OutOfMemoryError"),
        "restart-service",
        "prod",
        "A",
        "self-healing",
        "remediator.prod",
        0,
    ),
    (_production_event, "analyze-production-error", "prod", "B", "error-analysis", "remediator.prod", 3),
]


@pytest.mark.parametrize("make_subject,script,tier,klass,namespace,queue,priority", SEED)
def test_shipped_rules_route_the_seed_mapping(
    make_subject, script, tier, klass, namespace, queue, priority
) -> None:
    rules = load_rules(EXAMPLE_RULES, scripts=registry())
    [spec] = plan(rules, make_subject())
    assert (spec.script, spec.tier, spec.priority_class, spec.namespace) == (
        script,
        tier,
        PriorityClass(klass),
        namespace,
    )
    assert (spec.queue, spec.priority) == (queue, priority)
    assert spec.render_error is None


def test_production_error_job_gets_params_rendered_from_the_payload() -> None:
    rules = load_rules(EXAMPLE_RULES, scripts=registry())
    [spec] = plan(rules, _production_event())
    assert spec.params == {
        "sentry_issue_id": "1117540176",
        "error_type": "ReferenceError",
        "culprit": "?(<anonymous>)",
    }


def test_example_payload_with_no_matching_rule_plans_nothing() -> None:
    rules = load_rules(EXAMPLE_RULES, scripts=registry())
    assert plan(rules, _issue()) == []


def test_resolved_issue_does_not_fire_a_rule_that_names_no_action() -> None:
    rules = load_rules(EXAMPLE_RULES, scripts=registry())
    document = payload("issue_created") | {"action": "resolved"}
    document["data"]["issue"]["title"] = "Build failed"
    assert plan(rules, subject_of("issue", parse_webhook("issue", document))) == []


OPERATORS = """
rules:
  - name: first
    continue: true
    match:
      resource: event_alert
      level: [error, fatal]
      tags: {browser.name: Chrome, os.name: {regex: "^Mac"}}
    job: {script: http-request, tier: nonprod, class: C, params: {url: "http://a/{{ tags['os.name'] }}"}}
  - name: second
    match: {title: {regex: "^ReferenceError"}, exception_type: {in: [TypeError, ReferenceError]}}
    job: {script: http-request, tier: nonprod, class: D, params: {url: "http://b"}}
  - name: never
    match: {title: {contains: heck}}
    job: {script: http-request, tier: nonprod, class: D, params: {url: "http://c"}}
"""


def test_operators_tags_and_continue_select_the_rules_in_order() -> None:
    subject = subject_of("event_alert", parse_webhook("event_alert", payload("event_alert_triggered")))
    specs = plan(parse_rules(OPERATORS, scripts=registry()), subject)
    assert [s.rule for s in specs] == ["first", "second"]
    assert specs[0].params == {"url": "http://a/Mac OS X"}


def test_missing_tag_fails_the_match() -> None:
    document = payload("event_alert_triggered")
    document["data"]["event"]["tags"] = [["os.name", "Mac"]]
    subject = subject_of("event_alert", parse_webhook("event_alert", document))
    assert [s.rule for s in plan(parse_rules(OPERATORS, scripts=registry()), subject)] == ["second"]


def test_disabled_rule_never_matches() -> None:
    text = OPERATORS.replace("  - name: second\n", "  - name: second\n    enabled: false\n")
    subject = subject_of("event_alert", parse_webhook("event_alert", payload("event_alert_triggered")))
    assert [s.rule for s in plan(parse_rules(text, scripts=registry()), subject)] == ["first", "never"]
