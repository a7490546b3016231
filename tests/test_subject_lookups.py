"""What a body lacks and a rule asks for is looked up in Sentry: an issue webhook's
environment and tags from its latest event, an event's project slug from its issue; only
when a rule needs it, cached; and a webhook whose lookup Sentry does not answer in time is
planned by a worker, never planned without it."""

from __future__ import annotations

import pytest

from remediator.jobs import JobStatus, JobStore
from remediator.settings import EXAMPLE_RULES
from remediator.testing import SentryStandIn
from remediator.testing import sentry_events as shapes
from tests.helpers import STANDIN_TOKEN, encode, sentry_headers, wait_for

RULES = """
version: 1
rules:
  - name: shop-errors
    match: {resource: [event_alert], project: shop, issue_category: error}
    key: "{{ project }}:{{ exception_type }}"
    job: {script: noop, tier: nonprod, class: C}
  - name: checkout-tag
    match: {resource: [issue], tags: {feature: checkout}}
    job: {script: noop, tier: nonprod, class: C}
"""


def post(client, resource: str, document: dict) -> dict:  # type: ignore[no-untyped-def,type-arg]
    raw = encode(document)
    answer = client.post("/sentry/webhook", data=raw, headers=sentry_headers(resource, raw))
    assert answer.status_code in (200, 202), answer.get_data(as_text=True)
    return answer.get_json()  # type: ignore[no-any-return]


def gets(standin: SentryStandIn, part: str) -> list[str]:
    return [c["path"] for c in standin.api_calls if c["method"] == "GET" and part in c["path"]]


def production_error(release: str | None = None) -> dict:  # type: ignore[type-arg]
    return shapes.error_event(
        "TimeoutError",
        "upstream took 30s",
        [shapes.frame("shop/pay.py", "charge", 12, module="shop.pay")],
        environment="production",
        release=release,
    )


def test_an_issue_webhook_gets_its_environment_from_the_latest_event_and_the_shipped_rule_fires(
    make_app, standin: SentryStandIn, redis_db
) -> None:
    client = make_app(EXAMPLE_RULES.read_text(), sentry_auth_token=STANDIN_TOKEN).test_client()
    standin.add_issue("3001", event=production_error())
    answer = post(client, "issue", standin.issue_webhook("3001"))
    (job,) = answer["jobs"]
    assert (job["rule"], job["script"], job["tier"]) == (
        "production-error",
        "analyze-production-error",
        "prod",
    )
    assert gets(standin, "/events/latest/") == ["/api/0/organizations/acme/issues/3001/events/latest/"]
    # The same issue again within a minute (it regressed): answered from the cache.
    post(client, "issue", standin.issue_webhook("3001", "unresolved"))
    assert len(gets(standin, "/events/latest/")) == 1


def test_an_issue_of_another_environment_is_not_a_production_error(
    make_app, standin: SentryStandIn, redis_db
) -> None:
    client = make_app(EXAMPLE_RULES.read_text(), sentry_auth_token=STANDIN_TOKEN).test_client()
    event = shapes.error_event("TimeoutError", "slow", [], environment="staging")
    standin.add_issue("3002", event=event)
    assert post(client, "issue", standin.issue_webhook("3002"))["status"] == "ignored"


def test_an_event_alert_names_its_project_by_slug_once_looked_up(
    make_app, standin: SentryStandIn, redis_db
) -> None:
    client = make_app(RULES, sentry_auth_token=STANDIN_TOKEN).test_client()
    standin.add_issue("3003", event=production_error(), project={"id": "7", "slug": "shop", "name": "Shop"})
    body = standin.event_webhook("3003")
    assert body["data"]["event"]["project"] == 7  # the body has only the id
    (job,) = post(client, "event_alert", body)["jobs"]
    assert job["rule"] == "shop-errors"
    record = JobStore(redis_db).get(job["id"])
    assert record is not None and record.storm_key == "shop:TimeoutError"  # the same slug an issue body gives
    assert gets(standin, "/issues/3003/") == ["/api/0/organizations/acme/issues/3003/"]


def test_tags_of_an_issue_webhook_come_from_its_latest_event(
    make_app, standin: SentryStandIn, redis_db
) -> None:
    client = make_app(RULES, sentry_auth_token=STANDIN_TOKEN).test_client()
    event = shapes.error_event("ValueError", "bad card", [], tags={"feature": "checkout"})
    standin.add_issue("3004", event=event)
    (job,) = post(client, "issue", standin.issue_webhook("3004"))["jobs"]
    assert job["rule"] == "checkout-tag"


def test_nothing_is_looked_up_when_no_rule_needs_it(make_app, standin: SentryStandIn, redis_db) -> None:
    rules = "rules:\n  - name: any\n    match: {title: {contains: Timeout}}\n"
    client = make_app(
        rules + "    job: {script: noop, tier: nonprod, class: D}\n", sentry_auth_token=STANDIN_TOKEN
    ).test_client()
    standin.add_issue("3005", event=production_error())
    assert post(client, "issue", standin.issue_webhook("3005"))["jobs"][0]["rule"] == "any"
    assert not [c for c in standin.api_calls if c["method"] == "GET"]


@pytest.mark.slow
def test_a_webhook_sentry_did_not_answer_about_is_planned_by_a_worker_once_it_does(
    make_app, standin: SentryStandIn, redis_db, workers
) -> None:
    client = make_app(EXAMPLE_RULES.read_text(), sentry_auth_token=STANDIN_TOKEN).test_client()
    standin.add_issue("3006", event=production_error())
    standin.throttle(1, retry_after=0.1)  # the web's one quick question is refused
    answer = post(client, "issue", standin.issue_webhook("3006"))
    assert answer["status"] == "deferred" and "not looked up" in answer["reason"]
    store = JobStore(redis_db)
    job = wait_for(
        lambda: next((j for j in store.list(limit=10) if j.sentry_issue_id == "3006"), None),
        30,
        0.1,
        "the worker to plan the deferred webhook",
    )
    assert (job.rule, job.tier) == ("production-error", "prod")
    assert job.status in (JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.FAILED, JobStatus.SUCCEEDED)
