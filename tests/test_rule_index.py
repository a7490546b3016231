"""The rule index narrows which rules are tried and never changes the answer: for random
rule files and subjects, indexed matching equals trying every rule in order."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from remediator.payloads import Subject
from remediator.remediation_scripts import registry
from remediator.rules import parse_rules
from remediator.rules.engine import compiled, matching_rules

WORDS = ["db", "database", "timeout", "Error", "pool", "prod", "x", "é✓", "connection reset", "ab"]
TEXT = st.lists(st.sampled_from(WORDS), max_size=4).map(" ".join)
OPERATOR = st.one_of(
    st.builds(lambda w: {"equals": w}, TEXT),
    st.builds(lambda w: {"contains": w}, st.sampled_from(WORDS)),
    st.builds(lambda w: {"regex": w}, st.sampled_from(["^data", "out$", "p[o]+l", "."])),
    st.builds(lambda ws: {"in": ws}, st.lists(TEXT, min_size=1, max_size=3)),
)
FIELD = st.sampled_from(["title", "culprit", "level", "environment", "project"])


@st.composite
def rule_files(draw: Any) -> str:
    rules = []
    for i in range(draw(st.integers(1, 12))):
        match: dict[str, Any] = {f: draw(OPERATOR) for f in draw(st.sets(FIELD, max_size=2))}
        if draw(st.booleans()):
            match["exception_type"] = draw(OPERATOR)
        if draw(st.booleans()):
            match["tags"] = {"service": draw(OPERATOR)}
        rules.append(
            {
                "name": f"r{i}",
                "continue": draw(st.booleans()),
                "match": match,
                "job": {"script": "noop", "tier": "nonprod", "class": "D"},
            }
        )
    import json

    return json.dumps({"rules": rules})


SUBJECTS = st.builds(
    lambda title, culprit, level, env, exc, tag: Subject(
        resource="issue",
        action="created",
        issue_id="1",
        title=title,
        culprit=culprit,
        level=level,
        environment=env,
        project="shop",
        exception_types=exc,
        tags={"service": tag} if tag is not None else {},
    ),
    TEXT,
    TEXT,
    st.sampled_from(["error", "warning", "x"]),
    st.sampled_from(["prod", "staging", ""]),
    st.lists(TEXT, max_size=2).map(tuple),
    st.one_of(st.none(), TEXT),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rule_files(), st.lists(SUBJECTS, min_size=1, max_size=5))
def test_indexed_matching_decides_exactly_as_trying_every_rule(text: str, subjects: list[Subject]) -> None:
    rules = parse_rules(text, scripts=registry())
    for subject in subjects:
        assert [r.name for r in matching_rules(rules, subject)] == [
            r.name for r in matching_rules(rules, subject, indexed=False)
        ]


def test_a_thousand_contains_rules_leave_few_candidates() -> None:
    text = "rules:\n" + "".join(
        f"  - name: r{i}\n    match: {{title: {{contains: 'nomatch-{i};'}}}}\n"
        f"    job: {{script: noop, tier: nonprod, class: D}}\n"
        for i in range(1000)
    )
    rules = parse_rules(text, scripts=registry())
    subject = Subject(resource="issue", action="created", issue_id="1", title="OperationalError: pool")
    assert compiled(rules).index.candidates(subject) == []
    hit = Subject(resource="issue", action="created", issue_id="1", title="it says nomatch-417; here")
    assert [r.name for r in matching_rules(rules, hit)] == ["r417"]
    assert len(compiled(rules).index.candidates(hit)) < 20
