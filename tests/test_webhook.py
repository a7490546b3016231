"""POST /sentry/webhook: accepted jobs land on the tier's queue at the class's priority;
everything else gets a clear status and submits nothing."""

from __future__ import annotations

import json
import time

import pytest

from tests.helpers import PAYLOADS, encode, payload, queued, sentry_headers

RULES = """
rules:
  - name: db
    approval: false
    match: {culprit: {contains: database}}
    job: {script: http-request, tier: prod, class: A, namespace: self-healing,
          params: {url: "http://127.0.0.1:9/{{ issue_id }}", method: POST}}
  - name: build
    match: {title: {contains: "Build failed"}}
    job: {script: http-request, tier: nonprod, class: C, params: {url: "http://127.0.0.1:9/b"}}
  - name: broken-template
    match: {title: {contains: "Template"}}
    job: {script: http-request, tier: nonprod, class: D, params: {url: "{{ no_such_field }}"}}
  - name: bad-params
    # A value that is one expression can only be checked once a job renders it.
    match: {title: {contains: "BadParams"}}
    job: {script: http-request, tier: nonprod, class: D, params: {url: "{{ title }}"}}
"""


def post(client, resource: str, document: object):  # type: ignore[no-untyped-def]
    body = encode(document)
    return client.post("/sentry/webhook", data=body, headers=sentry_headers(resource, body))


def issue(**changes: str) -> dict:  # type: ignore[type-arg]
    document = payload("issue_created")
    document["data"]["issue"].update(changes)
    return document


def test_matching_issue_is_accepted_and_queued_on_its_tier_at_its_priority(
    make_app, idle_redis, idle_broker_url
) -> None:
    client = make_app(RULES, broker=idle_broker_url).test_client()
    response = post(client, "issue", issue(culprit="app.database in acquire"))
    assert response.status_code == 202
    body = response.get_json()
    assert body["status"] == "accepted"
    [job] = body["jobs"]
    assert {k: job[k] for k in ("rule", "script", "tier", "priority_class", "status")} == {
        "rule": "db",
        "script": "http-request",
        "tier": "prod",
        "priority_class": "A",
        "status": "queued",
    }
    assert queued(idle_redis, "remediator.prod") == {"0": [job["id"]]}
    assert queued(idle_redis, "remediator.nonprod") == {}
    record = json.loads(idle_redis.hget(f"remediator:job:{job['id']}", "params"))
    assert record == {"url": "http://127.0.0.1:9/1170820242", "method": "POST"}


def test_class_c_on_nonprod_lands_in_the_priority_6_list(make_app, idle_redis, idle_broker_url):
    client = make_app(RULES, broker=idle_broker_url).test_client()
    job = post(client, "issue", issue(title="Build failed: exit 2")).get_json()["jobs"][0]
    assert queued(idle_redis, "remediator.nonprod") == {"6": [job["id"]]}


def test_no_matching_rule_is_200_ignored_and_queues_nothing(make_app, idle_redis, idle_broker_url):
    client = make_app(RULES, broker=idle_broker_url).test_client()
    response = post(client, "issue", payload("issue_created"))
    assert response.status_code == 200
    assert response.get_json() == {"status": "ignored", "reason": "no rule matched issue.created"}
    assert idle_redis.zcard("remediator:jobs") == 0


@pytest.mark.parametrize(
    "resource,name",
    [("comment", "comment_created"), ("installation", "installation_created"), ("uptime", "issue_created")],
)
def test_comment_installation_and_unknown_resources_are_200_ignored(
    make_app, idle_redis, idle_broker_url, resource: str, name: str
) -> None:
    client = make_app(RULES, broker=idle_broker_url).test_client()
    body = (PAYLOADS / f"{name}.json").read_bytes()
    response = client.post("/sentry/webhook", data=body, headers=sentry_headers(resource, body))
    assert response.status_code == 200
    assert response.get_json()["status"] == "ignored"
    assert idle_redis.zcard("remediator:jobs") == 0


@pytest.mark.parametrize(
    "body,reason",
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe\x00", "not valid JSON"),
        (b'{"action": "created", "data": {"issue": {"id": 1}}}', "does not fit a Sentry 'issue'"),
        (b'{"action": 5, "data": []}', "does not fit"),
        (b"[]", "does not fit"),
    ],
)
def test_malformed_or_misshapen_body_is_400_with_a_reason(make_app, idle_broker_url, body, reason):
    client = make_app(RULES, broker=idle_broker_url).test_client()
    response = client.post("/sentry/webhook", data=body, headers=sentry_headers("issue", body))
    assert response.status_code == 400
    assert reason in response.get_json()["reason"]


def test_missing_resource_header_is_400(make_app, idle_broker_url) -> None:
    client = make_app(RULES, broker=idle_broker_url).test_client()
    body = encode(payload("issue_created"))
    headers = sentry_headers("issue", body)
    del headers["Sentry-Hook-Resource"]
    response = client.post("/sentry/webhook", data=body, headers=headers)
    assert response.status_code == 400
    assert "Sentry-Hook-Resource" in response.get_json()["reason"]


def test_body_over_the_limit_is_413(make_app, idle_redis, idle_broker_url) -> None:
    client = make_app(RULES, broker=idle_broker_url, max_body_bytes=2048).test_client()
    document = issue(culprit="database", title="x" * 4096)
    response = post(client, "issue", document)
    assert response.status_code == 413
    assert response.get_json()["status"] == "error"
    assert idle_redis.zcard("remediator:jobs") == 0


def test_params_that_cannot_render_are_recorded_failed_and_never_queued(
    make_app, idle_redis, idle_broker_url
) -> None:
    client = make_app(RULES, broker=idle_broker_url).test_client()
    response = post(client, "issue", issue(title="Template trouble"))
    assert response.status_code == 202
    [job] = response.get_json()["jobs"]
    assert job["status"] == "failed"
    error = json.loads(idle_redis.hget(f"remediator:job:{job['id']}", "error"))
    assert "'no_such_field' is undefined" in error
    assert queued(idle_redis, "remediator.nonprod") == {}


def test_params_the_script_rejects_are_recorded_failed_and_never_queued(
    make_app, idle_redis, idle_broker_url
) -> None:
    client = make_app(RULES, broker=idle_broker_url).test_client()
    [job] = post(client, "issue", issue(title="BadParams")).get_json()["jobs"]
    assert job["status"] == "failed"
    error = json.loads(idle_redis.hget(f"remediator:job:{job['id']}", "error"))
    assert "invalid params for http-request" in error and "'BadParams' is not an http" in error
    assert queued(idle_redis, "remediator.nonprod") == {}


def test_unreachable_broker_spools_the_webhook_instead_of_failing(make_app) -> None:
    app = make_app(RULES, broker="redis://127.0.0.1:1/0")
    client = app.test_client()
    started = time.monotonic()
    response = post(client, "issue", issue(culprit="database"))
    assert time.monotonic() - started < 1.0
    assert response.status_code == 202
    body = response.get_json()
    assert body["status"] == "accepted" and body["spooled"] >= 1
    assert "broker unavailable" in body["reason"]
    app.extensions["remediator"].drainer.stop()  # this broker never comes back


def _production_event() -> dict:  # type: ignore[type-arg]
    document = payload("event_alert_triggered")
    document["data"]["event"]["environment"] = "production"
    return document


def _oom() -> dict:  # type: ignore[type-arg]
    document = payload("issue_created")
    document["data"]["issue"]["metadata"]["type"] = "OutOfMemoryError"
    return document


@pytest.mark.parametrize(
    "resource,document,rule,queue,priority",
    [
        ("issue", issue(title="Build failed: tsc exited 2"), "build-failed", "remediator.nonprod", "3"),
        ("issue", issue(culprit="app/database/pool.py"), "database-pool", "remediator.prod", "0"),
        ("issue", _oom(), "out-of-memory", "remediator.prod", "0"),
        ("event_alert", _production_event(), "production-error", "remediator.prod", "3"),
    ],
)
def test_shipped_rules_put_each_seed_case_on_its_tier_queue_at_its_priority(
    make_app, idle_redis, idle_broker_url, resource, document, rule, queue, priority
) -> None:
    client = make_app(broker=idle_broker_url).test_client()
    response = post(client, resource, document)
    assert response.status_code == 202, response.get_json()
    [job] = response.get_json()["jobs"]
    assert job["rule"] == rule
    other = "remediator.prod" if queue == "remediator.nonprod" else "remediator.nonprod"
    if priority == "0":
        # prod rules of class A wait for a person by default; approval queues them
        assert job["status"] == "awaiting_approval"
        assert queued(idle_redis, queue) == {}
        approved = client.post(
            f"/api/jobs/{job['id']}/approve",
            json={"by": "alice"},
            headers={"Authorization": "Bearer test-api-token"},
        )
        assert approved.status_code == 200, approved.get_json()
    assert queued(idle_redis, queue) == {priority: [job["id"]]}
    assert queued(idle_redis, other) == {}
