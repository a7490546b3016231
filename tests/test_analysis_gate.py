"""The analysis gate and the spend, decided without I/O: when an issue is worth a model's
time, how a rule's gate sits over the file's defaults, what a call costs."""

from __future__ import annotations

import pytest

from remediator.analysis.spend import cost, day_of
from remediator.errors import RuleError
from remediator.remediation_scripts import registry
from remediator.rules.analysis_gate import AnalysisGate, refusal
from remediator.rules.loader import parse_rules
from remediator.settings import Settings
from remediator.testing import sentry_events as sdk
from remediator.testing.sentry_shapes import new_issue

NOW = 1_796_000_000.0  # 2026-11-30 (UTC)
DAY = 86400.0


def issue(count: int = 12, users: int = 3, seen_ago: float = 60.0) -> dict[str, object]:
    """Sentry's issue details (the REST shape) with these counts and last sighting."""
    event = sdk.error_event("KeyError", "'user'", [sdk.frame("app/users.py", "load", 3)])
    project = {"id": "1", "slug": "shop", "name": "shop"}
    return new_issue(
        "1",
        event,
        project,
        "https://sentry.example.com",
        "acme",
        count=str(count),
        userCount=users,
        lastSeen=sdk.iso(NOW - seen_ago),
    )


def test_an_issue_that_meets_every_threshold_is_analysed() -> None:
    gate = AnalysisGate(min_events=10, min_users=2, seen_within=14 * DAY, reanalyze_after=7 * DAY)
    assert refusal(gate, issue(), NOW, analysed_at=NOW - 8 * DAY) is None


@pytest.mark.parametrize(
    ("gate", "fields", "analysed_ago", "reason"),
    [
        (
            AnalysisGate(min_events=10),
            {"count": 9},
            None,
            "the issue has 9 event(s); the rule's analysis gate asks for 10",
        ),
        (
            AnalysisGate(min_users=5),
            {"users": 4},
            None,
            "the issue affected 4 user(s); the rule's analysis gate asks for 5",
        ),
        (
            AnalysisGate(seen_within=14 * DAY),
            {"seen_ago": 20 * DAY},
            None,
            "the issue was last seen 20 d ago; the rule's analysis gate asks for an event within 14 d",
        ),
        (
            AnalysisGate(reanalyze_after=7 * DAY),
            {},
            3 * 3600,
            "the issue was analysed 3 h ago; the rule analyses it again after 7 d",
        ),
    ],
)
def test_each_threshold_refuses_with_its_reason(
    gate: AnalysisGate, fields: dict[str, float], analysed_ago: float | None, reason: str
) -> None:
    analysed_at = None if analysed_ago is None else NOW - analysed_ago
    assert refusal(gate, issue(**fields), NOW, analysed_at) == reason  # type: ignore[arg-type]


def test_zero_turns_a_window_off() -> None:
    gate = AnalysisGate(seen_within=0, reanalyze_after=0)
    assert refusal(gate, issue(seen_ago=400 * DAY), NOW, analysed_at=NOW - 1) is None


def test_a_rules_gate_sets_what_it_names_over_the_files_defaults() -> None:
    rules = parse_rules(
        """
analysis: {min_events: 10, seen_within: 14d}
rules:
  - name: checkout
    analysis: {min_events: 1}
    match: {title: {contains: Checkout}}
    job: {script: analyze-production-error, tier: prod, class: B}
  - name: other
    match: {title: {contains: Other}}
    job: {script: analyze-production-error, tier: prod, class: B}
""",
        scripts=registry(),
    )
    assert rules.analysis_gate("checkout") == AnalysisGate(min_events=1, seen_within=14 * DAY)
    assert rules.analysis_gate("other") == AnalysisGate(min_events=10, seen_within=14 * DAY)
    assert rules.analysis_gate("gone-since") == rules.analysis


def test_a_bad_gate_is_refused_naming_the_rule_and_field() -> None:
    with pytest.raises(RuleError, match=r"rule .checkout.: analysis.min_events: Input should be greater"):
        parse_rules(
            """
rules:
  - name: checkout
    analysis: {min_events: -1}
    match: {title: {contains: Checkout}}
    job: {script: analyze-production-error, tier: prod, class: B}
""",
            scripts=registry(),
        )


def test_a_calls_cost_follows_the_input_and_output_prices() -> None:
    assert cost((0.15, 0.60), 2000, 500) == pytest.approx(0.6)
    assert cost(None, 2000, 500) is None
    assert day_of(NOW) == "2026-11-30"


def test_the_price_setting_reads_input_comma_output_and_refuses_one_number() -> None:
    assert Settings(llm_price_per_1k_tokens="0.15, 0.6").llm_price_per_1k_tokens == (0.15, 0.6)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="the input and the output price"):
        Settings(llm_price_per_1k_tokens="0.15")  # type: ignore[arg-type]
