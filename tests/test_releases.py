"""Release-aware routing: rules match on the release and on whether the issue began with the
latest deploy (looked up in Sentry's releases and deploys API, cached); the shipped example
rule sends such a production error to a rollback that waits for approval, naming the release."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import requests

from remediator.jobs import JobStatus
from remediator.payloads import Deploy, Subject, parse_webhook, subject_of
from remediator.rules import load_rules, plan
from remediator.sentry import comments
from remediator.settings import EXAMPLE_RULES
from remediator.testing import SentryStandIn
from remediator.testing import sentry_events as shapes
from remediator.testing.sentry_standin import iso
from tests.helpers import STANDIN_TOKEN, encode, payload, sentry_headers

RULES = """
version: 1
rules:
  - name: fresh
    match: {release: {regex: "^shop@2\\\\."}, new_in_latest_deploy: true, deployed_within: 30m}
    job: {script: noop, tier: nonprod, class: B}
  - name: old
    match: {new_in_latest_deploy: false}
    job: {script: noop, tier: nonprod, class: D}
"""


def issue_subject(release: str, issue_id: str = "71") -> Subject:
    body = payload("issue_created")
    issue = body["data"]["issue"]
    issue.update(id=issue_id, firstRelease={"version": release}, level="error")
    issue["project"].update(slug="shop")
    # An issue body has no environment: the latest event's, as a lookup fills it.
    subject = subject_of("issue", parse_webhook("issue", body))
    return dataclasses.replace(subject, environment="production")


def deployed(subject: Subject, latest: bool, age: float) -> Subject:
    deploy = Deploy(subject.release, "production", time.time() - age, age, "deploy-bot", latest)
    return dataclasses.replace(subject, deploy=deploy)


def test_rules_match_on_the_release_and_its_deploy(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES)
    ruleset = load_rules(path)
    subject = issue_subject("shop@2.4.1")
    assert subject.release == "shop@2.4.1"
    assert [s.rule for s in plan(ruleset, deployed(subject, latest=True, age=60))] == ["fresh"]
    assert [s.rule for s in plan(ruleset, deployed(subject, latest=True, age=3600))] == []  # too long ago
    assert [s.rule for s in plan(ruleset, deployed(subject, latest=False, age=60))] == ["old"]
    assert plan(ruleset, subject) == []  # nothing looked up: no deploy test holds
    (spec,) = plan(ruleset, deployed(subject, latest=True, age=60))
    assert spec.release_note is not None
    assert spec.release_note.startswith("began with release shop@2.4.1, deployed to production at ")
    assert spec.release_note.endswith(" by deploy-bot")


def release(standin: SentryStandIn, version: str, finished_ago: float, name: str) -> None:
    base, auth = (
        f"{standin.api_url}/organizations/acme/releases/",
        {"Authorization": f"Bearer {STANDIN_TOKEN}"},
    )
    created = requests.post(base, json={"version": version, "projects": ["shop"]}, headers=auth, timeout=5)
    assert created.status_code == 201, created.text
    deploy = {"environment": "production", "name": name, "dateFinished": iso(time.time() - finished_ago)}
    done = requests.post(f"{base}{version}/deploys/", json=deploy, headers=auth, timeout=5)
    assert done.status_code == 201, done.text


def fire(client, standin: SentryStandIn, issue_id: str, version: str, status: str = "accepted") -> dict:  # type: ignore[no-untyped-def,type-arg]
    """A production error of the release becomes an issue in Sentry, which sends its
    `issue.created` webhook (the environment only in the event, looked up)."""
    event = shapes.error_event(
        "CheckoutError",
        "card declined",
        [shapes.frame("shop/checkout.py", "pay", 41, module="shop.checkout")],
        environment="production",
        release=version,
    )
    standin.add_issue(issue_id, event=event, project={"id": "11", "slug": "shop", "name": "shop"})
    raw = encode(standin.issue_webhook(issue_id))
    response = client.post("/sentry/webhook", data=raw, headers=sentry_headers("issue", raw))
    assert response.status_code == 202, response.get_json()
    answer = response.get_json()
    assert answer["status"] == status, answer
    return answer["jobs"][0] if status == "accepted" else answer  # type: ignore[no-any-return]


def test_an_error_that_began_with_the_latest_deploy_waits_for_a_rollback_naming_the_release(
    make_app, standin: SentryStandIn, redis_db
) -> None:
    release(standin, "shop@2.4.0", finished_ago=86400, name="deploy-bot #811")
    release(standin, "shop@2.4.1", finished_ago=600, name="deploy-bot #812")
    client = make_app(EXAMPLE_RULES.read_text(), sentry_auth_token=STANDIN_TOKEN).test_client()

    job = fire(client, standin, "7001", "shop@2.4.1")
    again = fire(client, standin, "7002", "shop@2.4.1")  # another issue of the same release: cached answers

    assert job["rule"] == "new-in-latest-deploy" and job["status"] == JobStatus.AWAITING_APPROVAL.value
    assert again["status"] == JobStatus.THROTTLED.value  # once_within per project and release
    from remediator.jobs import JobStore

    record = JobStore(redis_db).get(job["id"])
    assert record is not None and record.params["url"].endswith("project=shop&release=shop@2.4.1")
    assert record.release_note is not None
    assert record.release_note.startswith("began with release shop@2.4.1, deployed to production at ")
    assert record.release_note.endswith("by deploy-bot #812")
    assert f"The issue {record.release_note}." in comments.awaiting_approval(record)
    lookups = [c["path"] for c in standin.api_calls if c["method"] == "GET" and "/releases/" in c["path"]]
    assert len(lookups) == 2  # the release's deploys and the latest release, once each

    # An error from the release before the latest deploy is not a rollback: it is analysed.
    older = fire(client, standin, "7003", "shop@2.4.0")
    assert older["rule"] == "production-error"


def test_without_sentry_s_api_an_issue_webhook_has_no_environment_and_the_production_rules_step_aside(
    make_app, standin: SentryStandIn, redis_db
) -> None:
    release(standin, "shop@2.4.1", finished_ago=600, name="deploy-bot #812")
    client = make_app(EXAMPLE_RULES.read_text()).test_client()  # no auth token: nothing to ask
    event = shapes.error_event("CheckoutError", "card declined", [], environment="production")
    standin.add_issue("7004", event=event)
    raw = encode(standin.issue_webhook("7004"))
    answer = client.post("/sentry/webhook", data=raw, headers=sentry_headers("issue", raw)).get_json()
    assert answer == {"status": "ignored", "reason": "no rule matched issue.created"}


def test_a_sentry_that_does_not_answer_costs_a_webhook_little_and_is_not_asked_again_at_once(
    make_app, standin: SentryStandIn, idle_redis, idle_broker_url
) -> None:
    release(standin, "shop@2.4.1", finished_ago=600, name="deploy-bot #812")
    # No worker consumes this broker: the deferred planning stays queued.
    client = make_app(
        EXAMPLE_RULES.read_text(), broker=idle_broker_url, sentry_auth_token=STANDIN_TOKEN
    ).test_client()
    standin.throttle(100, retry_after=30)  # Sentry answers 429 to everything for a while
    started = time.monotonic()
    first = fire(client, standin, "7010", "shop@2.4.1", status="deferred")
    second = fire(client, standin, "7011", "shop@2.4.1", status="deferred")
    took = time.monotonic() - started
    answered = time.time()
    # Not planned without the answer: handed to a worker, which asks again with time to wait.
    assert "environment and tags not looked up" in first["reason"]
    assert "environment and tags not looked up" in second["reason"]
    assert took < 1.0  # no retry, no wait for Retry-After: the webhook's budget is Sentry's second
    asked = [
        c
        for c in standin.api_calls
        if c["method"] == "GET" and "/events/latest/" in c["path"] and c["at"] <= answered
    ]
    assert len(asked) == 2  # one question per issue, each asked once (a worker asks again later)
    assert idle_redis.llen("remediator.prod") == 2  # both handed to the first tier's workers


def test_no_lookup_for_a_webhook_the_asking_rules_cannot_match(
    make_app, standin: SentryStandIn, redis_db
) -> None:
    release(standin, "shop@2.4.1", finished_ago=600, name="deploy-bot #812")
    client = make_app(EXAMPLE_RULES.read_text(), sentry_auth_token=STANDIN_TOKEN).test_client()
    body = payload("issue_created")
    body["data"]["issue"].update(id="7020", firstRelease={"version": "shop@2.4.1"}, level="warning")
    raw = encode(body)
    assert client.post("/sentry/webhook", data=raw, headers=sentry_headers("issue", raw)).status_code == 200
    assert not [c for c in standin.api_calls if c["method"] == "GET"]  # a warning: no rule asks
