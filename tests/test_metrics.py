"""/metrics: Prometheus's text format, parsed with prometheus_client's own parser."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import encode, payload, sentry_headers

RULES = """
rules:
  - name: counted
    approval: false
    match: {title: {contains: Counted}}
    job: {script: noop, tier: nonprod, class: C, namespace: t}
"""


def scrape(client, **headers: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:  # type: ignore[no-untyped-def]
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def test_metrics_count_webhooks_and_jobs_and_read_queue_depth(make_app, idle_redis, idle_broker_url) -> None:
    client = make_app(RULES, broker=idle_broker_url).test_client()
    before = scrape(client)
    document = payload("issue_created")
    document["data"]["issue"]["title"] = "Counted thing"
    body = encode(document)
    assert client.post("/sentry/webhook", data=body, headers=sentry_headers("issue", body)).status_code == 202
    assert (
        client.post("/sentry/webhook", data=b"{}", headers={"Sentry-Hook-Resource": "x<script>"}).status_code
        == 401
    )
    after = scrape(client)

    def delta(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert delta("remediator_webhooks_total", resource="issue", outcome="accepted") == 1
    assert (
        delta("remediator_webhooks_total", resource="other", outcome="unauthorized") == 1
    )  # header text never a label
    assert delta("remediator_jobs_total", rule="counted", script="noop", tier="nonprod", status="queued") == 1
    assert after[("remediator_queue_depth", (("priority_class", "C"), ("tier", "nonprod")))] == 1
    assert after[("remediator_jobs_awaiting_approval", ())] == 0
    assert after[("remediator_rule_breaker_open", (("rule", "counted"),))] == 0
    assert after[("remediator_spool_depth", ())] == 0


def test_metrics_report_each_tiers_last_heartbeat(make_app, redis_db) -> None:
    import time

    from remediator.worker.health import record_heartbeat

    at = time.time() - 30
    record_heartbeat(redis_db, {"tier": "prod", "worker": "prod@host", "at": at, "problems": []})
    samples = scrape(make_app(RULES).test_client())
    assert samples[("remediator_tier_heartbeat_timestamp_seconds", (("tier", "prod"),))] == at
    assert ("remediator_tier_heartbeat_timestamp_seconds", (("tier", "nonprod"),)) not in samples


def test_metrics_need_the_token_when_one_is_set(make_app) -> None:
    client = make_app(RULES, metrics_token="scrape-me").test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
    scrape(client, Authorization="Bearer scrape-me")


def test_analysis_tokens_and_cost_are_counted_for_valid_and_for_never_valid_answers() -> None:
    """An analysis that failed because no answer validated was paid for all the same: its
    `analyse` step's tokens count like a succeeded analysis's output."""
    from prometheus_client import REGISTRY

    from remediator.jobs.model import JobStatus
    from remediator.lifecycle import Event, EventKind
    from remediator.metrics.counting import count_analysis_spend
    from remediator.testing.factories import make_job

    def counted(kind: str) -> float:
        labels = {"model": "count-model", "kind": kind}
        return REGISTRY.get_sample_value("remediator_analysis_tokens_total", labels) or 0.0

    def cost() -> float:
        return REGISTRY.get_sample_value("remediator_analysis_cost_total", {"model": "count-model"}) or 0.0

    before = counted("prompt"), counted("completion"), cost()
    answered = {"analyzer": "llm", "model": "count-model", "prompt_tokens": 100, "completion_tokens": 20}
    ok = make_job(status=JobStatus.SUCCEEDED, output={**answered, "cost": 0.5})
    step = {"step": "analyse", "ok": False, **answered, "prompt_tokens": 300, "cost": 0.25}
    refused = make_job(status=JobStatus.FAILED, output={"steps": [{"step": "read the issue"}, step]})
    count_analysis_spend(Event(kind=EventKind.SUCCEEDED, job=ok))
    count_analysis_spend(Event(kind=EventKind.FAILED, job=refused))
    assert counted("prompt") - before[0] == 400 and counted("completion") - before[1] == 40
    assert cost() - before[2] == pytest.approx(0.75)
