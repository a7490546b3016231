"""Blast radius sets urgency: a rule may compute its class from the users an issue hurt or
its events; approval follows the class; the chosen class and why are on the job, in the
comment and on its page; and under a backlog the bigger issue runs first."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from remediator.defaults import PriorityClass
from remediator.errors import RuleError
from remediator.jobs import JobStatus
from remediator.payloads import Subject, parse_webhook, subject_of
from remediator.rules import load_rules, plan
from remediator.sentry import comments
from remediator.testing.factories import make_dispatcher
from tests.helpers import clean, payload, running_worker, wait_for

RULES = """
version: 1
rules:
  - name: checkout
    match: {culprit: {contains: checkout}}
    job:
      script: noop
      tier: TIER
      class: {A: {users_over: 1000}, B: {users_over: 100, events_over: 5000}, default: C}
"""


def issue(issue_id: str, users: int | None, events: int = 1) -> Subject:
    body = payload("issue_created")
    body["data"]["issue"].update(id=issue_id, culprit="checkout.pay", count=str(events))
    if users is None:
        body["data"]["issue"].pop("userCount", None)
    else:
        body["data"]["issue"]["userCount"] = users
    return subject_of("issue", parse_webhook("issue", body))


def rules_for(tmp_path: Path, tier: str) -> object:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES.replace("TIER", tier))
    return load_rules(path)


def test_the_class_follows_the_users_hurt_and_approval_follows_the_class(tmp_path: Path) -> None:
    ruleset = rules_for(tmp_path, "prod")
    (big,) = plan(ruleset, issue("1", 5000))  # type: ignore[arg-type]
    (mid,) = plan(ruleset, issue("2", 5, events=9000))  # type: ignore[arg-type]
    (small,) = plan(ruleset, issue("3", 5))  # type: ignore[arg-type]
    (unknown,) = plan(ruleset, issue("4", None))  # type: ignore[arg-type]
    assert (big.priority_class, big.approval) == (PriorityClass.A, True)
    assert big.class_reason == "class A: 5000 users affected (over 1000)"
    assert (mid.priority_class, mid.approval) == (PriorityClass.B, False)
    assert mid.class_reason == "class B: 9000 events (over 5000)"
    assert (small.priority_class, small.approval) == (PriorityClass.C, False)
    assert small.class_reason == "class C (default): 5 users, 1 events, under every threshold"
    assert unknown.priority_class == PriorityClass.C
    assert unknown.class_reason == "class C (default): 1 events, under every threshold"
    assert ruleset.rules[0].job.class_text == "A if users > 1000; B if users > 100 or events > 5000; else C"  # type: ignore[attr-defined]


def test_a_computed_class_without_a_threshold_is_refused_naming_rule_and_field(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES.replace("TIER", "prod").replace("{A: {users_over: 1000}", "{A: {}"))
    with pytest.raises(RuleError) as caught:
        load_rules(path)
    expected = "rule 'checkout': job.class_by.A: give users_over, events_over or events_per_hour_over"
    assert expected in str(caught.value)


def test_an_issue_hurting_5000_users_outranks_one_hurting_5_and_says_why(
    tmp_path: Path, broker_url: str, log_dir: Path
) -> None:
    ruleset = rules_for(tmp_path, "nonprod")
    backlog_url = broker_url.rsplit("/", 1)[0] + "/1"
    clean(redis.Redis.from_url(backlog_url))
    dispatcher = make_dispatcher(backlog_url)
    small = [
        dispatcher.submit(spec, subject)
        for n in range(10)
        for subject in [issue(f"5{n}", 5)]
        for spec in plan(ruleset, subject)  # type: ignore[arg-type]
    ]
    (big,) = [dispatcher.submit(spec, issue("99", 5000)) for spec in plan(ruleset, issue("99", 5000))]  # type: ignore[arg-type]
    assert big.priority_class == PriorityClass.A and big.status == JobStatus.QUEUED
    assert "5000 users affected" in comments.submitted(big)
    with running_worker(
        "nonprod", log_dir, env={"REMEDIATOR_BROKER_URL": backlog_url}, concurrency=1, name="blast"
    ):
        jobs = wait_for(
            lambda: (lambda js: js if all(j and j.status == JobStatus.SUCCEEDED for j in js) else None)(
                [dispatcher.store.get(j.id) for j in [*small, big]]
            ),
            timeout=60,
            what="the jobs to run",
        )
    first = min(jobs, key=lambda j: j.started_at or 0)
    assert first.id == big.id
    assert first.class_reason == "class A: 5000 users affected (over 1000)"  # kept on the record


def test_an_event_alert_s_class_follows_the_users_sentry_reports_for_its_issue(
    make_app, standin, redis_db
) -> None:
    from remediator.testing.sentry_standin import SentryStandIn
    from tests.helpers import STANDIN_TOKEN, encode, sentry_headers

    assert isinstance(standin, SentryStandIn)
    standin.add_issue("8801", title="checkout failed", userCount=5000)
    rules = RULES.replace("TIER", "nonprod").replace(
        "{culprit: {contains: checkout}}", "{title: {contains: checkout}}"
    )
    client = make_app(rules, sentry_auth_token=STANDIN_TOKEN).test_client()
    body = payload("event_alert_triggered")
    body["data"]["event"].update(issue_id="8801", title="checkout failed")
    raw = encode(body)
    answer = client.post("/sentry/webhook", data=raw, headers=sentry_headers("event_alert", raw)).get_json()
    (job,) = answer["jobs"]
    assert job["priority_class"] == "A"  # the alert carries no user count; Sentry's issue does
    without_api = make_app(rules).test_client()
    body["data"]["event"]["event_id"] = "f" * 32
    raw = encode(body)
    answer = without_api.post(
        "/sentry/webhook", data=raw, headers=sentry_headers("event_alert", raw)
    ).get_json()
    assert answer["jobs"][0]["priority_class"] == "C"  # nothing to ask: the default, saying so


def test_a_class_can_follow_the_events_of_the_current_hour_from_sentry_s_stats(
    make_app, standin, redis_db
) -> None:
    from tests.helpers import STANDIN_TOKEN, encode, sentry_headers

    standin.add_issue("8802", title="checkout failed")
    for _ in range(4):
        standin.add_event("8802")
    rules = RULES.replace("TIER", "nonprod").replace(
        "{A: {users_over: 1000}, B: {users_over: 100, events_over: 5000}, default: C}",
        "{A: {events_per_hour_over: 3}, default: C}",
    )
    client = make_app(rules, sentry_auth_token=STANDIN_TOKEN).test_client()
    body = payload("issue_created")
    body["data"]["issue"].update(id="8802", culprit="checkout.pay")
    raw = encode(body)
    (job,) = client.post("/sentry/webhook", data=raw, headers=sentry_headers("issue", raw)).get_json()["jobs"]
    assert job["priority_class"] == "A"
    from remediator.jobs import JobStore

    record = JobStore(redis_db).get(job["id"])
    assert record is not None and record.class_reason == "class A: 5 events this hour (over 3)"
