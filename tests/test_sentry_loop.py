"""The loop with Sentry, against the local stand-in and real workers: telemetry, comments,
verification, cancellation, echoes, check-ins, and no secret in anything sent."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from remediator.jobs import Job, JobStatus, JobStore, redis_client
from remediator.testing import SentryStandIn
from tests.helpers import (
    APP_ID,
    SECRET,
    STANDIN_TOKEN,
    TOKEN,
    drained,
    encode,
    payload,
    queued,
    running_worker,
    sentry_headers,
    wait_for,
)

SECRET_HEADER = "Bearer s3cret-header-value-42"


def rules_for(target: str, verify_after: float = 1, resolve: bool = True, verify: str = "sentry") -> str:
    return f"""
rules:
  - name: heal
    approval: false
    verify_after: {verify_after}
    verify: {verify}
    resolve_issue: {str(resolve).lower()}
    match: {{culprit: {{contains: database}}}}
    job: {{script: http-request, tier: prod, class: A, namespace: self-healing,
          params: {{url: "{target}/heal", headers: {{Authorization: "{SECRET_HEADER}"}}}}}}
  - name: broken
    match: {{culprit: {{contains: broken}}}}
    job: {{script: http-request, tier: nonprod, class: B, namespace: ci,
          params: {{url: "{target}/status/500#{SECRET_HEADER}",
                    headers: {{Authorization: "{SECRET_HEADER}"}}}}}}
"""


@pytest.fixture
def loop_app(make_app, standin, http_target, redis_db):  # type: ignore[no-untyped-def]
    """A web app that writes back to the stand-in, with session workers running."""

    def build(**rule_options: object):  # type: ignore[no-untyped-def]
        return make_app(
            rules_for(http_target.url, **rule_options),  # type: ignore[arg-type]
            sentry_auth_token=STANDIN_TOKEN,
        ).test_client()

    return build


def fire(
    client,
    standin: SentryStandIn,
    issue_id: str,
    culprit: str,  # type: ignore[no-untyped-def]
    action: str = "created",
    actor: dict[str, Any] | None = None,
) -> dict:  # type: ignore[type-arg]
    if issue_id not in standin.issues:
        standin.add_issue(issue_id, title=f"DB error {issue_id}", culprit=culprit)
    document = payload("issue_created") | {"action": action}
    document["data"]["issue"].update(id=issue_id, culprit=culprit)
    if actor is not None:
        document["actor"] = actor
    body = encode(document)
    response = client.post("/sentry/webhook", data=body, headers=sentry_headers("issue", body))
    assert response.status_code in (200, 202), response.get_json()
    result: dict = response.get_json()  # type: ignore[type-arg]
    return result


def job_in(broker_url: str, job_id: str, statuses: set[JobStatus], timeout: float = 30) -> Job:
    store = JobStore(redis_client(broker_url))
    return wait_for(
        lambda: (lambda j: j if j and j.status in statuses else None)(store.get(job_id)),
        timeout,
        0.1,
        f"job {job_id} to be {sorted(statuses)}",
    )


def transaction_of(standin: SentryStandIn, job_id: str) -> dict:  # type: ignore[type-arg]
    return wait_for(
        lambda: next((t for t in standin.transactions() if t.get("tags", {}).get("job_id") == job_id), None),
        20,
        0.1,
        "the job's transaction",
    )


def test_job_transaction_has_op_name_tags_and_ok_status(workers, loop_app, standin, broker_url):
    body = fire(loop_app(), standin, "501", "app.database.pool")
    job_id = body["jobs"][0]["id"]
    job_in(broker_url, job_id, {JobStatus.SUCCEEDED, JobStatus.VERIFIED})
    txn = transaction_of(standin, job_id)
    assert txn["transaction"] == "Batch Job: http-request"
    assert txn["contexts"]["trace"]["op"] == "batch.job"
    assert txn["contexts"]["trace"]["status"] == "ok"
    assert {
        k: txn["tags"][k]
        for k in ("tier", "namespace", "class", "job_id", "script", "rule", "sentry_issue_id")
    } == {
        "tier": "prod",
        "namespace": "self-healing",
        "class": "A",
        "job_id": job_id,
        "script": "http-request",
        "rule": "heal",
        "sentry_issue_id": "501",
    }
    assert txn["environment"] == "test" and txn["release"].startswith("remediator@")
    # The store's and broker's Redis commands are not spans (a third of the SDK's work).
    assert not [s for s in txn.get("spans", []) if s.get("op", "").startswith("db.redis")]


def test_failing_job_sends_an_error_event_with_tags_and_job_context(
    workers, loop_app, standin, broker_url
) -> None:
    job_id = fire(loop_app(), standin, "502", "broken thing")["jobs"][0]["id"]
    job_in(broker_url, job_id, {JobStatus.FAILED})
    assert transaction_of(standin, job_id)["contexts"]["trace"]["status"] == "internal_error"
    error = wait_for(
        lambda: next((e for e in standin.errors() if e.get("tags", {}).get("job_id") == job_id), None),
        20,
        0.1,
        "the job's error event",
    )
    assert error["tags"]["script"] == "http-request" and error["tags"]["tier"] == "nonprod"
    assert error["contexts"]["job"] == {
        "id": job_id,
        "script": "http-request",
        "class": "B",
        "tier": "nonprod",
        "namespace": "ci",
        "rule": "broken",
        "attempt": 1,
    }
    assert "answered 500" in json.dumps(error["exception"])


def test_comments_on_submit_and_on_finish(workers, loop_app, standin, broker_url) -> None:
    job_id = fire(loop_app(verify_after=60), standin, "503", "database")["jobs"][0]["id"]
    job_in(broker_url, job_id, {JobStatus.SUCCEEDED})
    texts = wait_for(
        lambda: (lambda t: t if len(t) >= 2 else None)(standin.comment_texts("503")), 20, 0.1, "two comments"
    )
    # the two comments are delivered by separate follow-up tasks: either may land first
    [submitted] = [t for t in texts if " submitted: " in t]
    [finished] = [t for t in texts if " succeeded in " in t]
    assert f"Automated remediation job {job_id} submitted: http-request (prod, class A)" in submitted
    assert f"Automated remediation job {job_id} succeeded in" in finished
    assert f"/jobs/{job_id}" in finished
    store = JobStore(redis_client(broker_url))
    notes = wait_for(
        lambda: (lambda ns: ns if len(ns) >= 2 else None)(
            [n for n in store.get(job_id).notes if n.get("listener") == "sentry-comments"]
        ),
        10,
        0.1,
        "write-back notes",
    )
    assert sorted((n["event"], n["ok"], n["attempt"]) for n in notes) == [
        ("submitted", True, 1),
        ("succeeded", True, 1),
    ]


def test_quiet_issue_is_verified_resolved_and_counted(workers, loop_app, standin, broker_url):
    client = loop_app(verify_after=1)
    job_id = fire(client, standin, "504", "database")["jobs"][0]["id"]
    job = job_in(broker_url, job_id, {JobStatus.VERIFIED, JobStatus.INEFFECTIVE}, timeout=30)
    assert job.status == JobStatus.VERIFIED
    assert job.verified_at is not None and job.finished_at is not None
    assert job.verified_at - job.finished_at >= 1.0
    assert standin.issues["504"]["status"] == "resolved"
    verified = wait_for(
        lambda: [t for t in standin.comment_texts("504") if t.startswith("Verified")],
        10,
        0.1,
        "the verification comment",
    )
    assert job_id in verified[0] and "Time to recovery (first event to verified)" in verified[0]
    rules = client.get("/api/rules", headers={"Authorization": f"Bearer {TOKEN}"}).get_json()
    heal = next(r for r in rules["rules"] if r["name"] == "heal")
    assert heal["outcomes"]["verified"] >= 1 and heal["outcomes"]["succeeded"] >= 1
    # and the hour's trend bucket counted it in the same step, with its time to recovery
    trends = client.get("/api/trends", headers={"Authorization": f"Bearer {TOKEN}"}).get_json()
    [heal_trend] = [r for r in trends["rules"] if r["rule"] == "heal"]
    assert (heal_trend["verified"], heal_trend["ineffective"], heal_trend["verified_share"]) == (1, 0, 1.0)
    assert heal_trend["recovery_p50_seconds"] >= 0.99 * (job.verified_at - job.created_at)


def test_issue_with_new_events_after_the_job_is_ineffective_and_stays_open(
    workers, loop_app, standin, broker_url
) -> None:
    job_id = fire(loop_app(verify_after=2), standin, "505", "database")["jobs"][0]["id"]
    job_in(broker_url, job_id, {JobStatus.SUCCEEDED})
    time.sleep(0.05)
    standin.add_event("505")  # the problem is still happening
    job = job_in(broker_url, job_id, {JobStatus.VERIFIED, JobStatus.INEFFECTIVE}, timeout=30)
    assert job.status == JobStatus.INEFFECTIVE
    assert standin.issues["505"]["status"] == "unresolved"
    texts = wait_for(
        lambda: [t for t in standin.comment_texts("505") if "did not stop" in t],
        10,
        0.1,
        "the ineffective comment",
    )
    assert job_id in texts[0]
    stats = JobStore(redis_client(broker_url)).rule_stats(["heal"])["heal"]
    assert stats["ineffective"] >= 1


def test_resolve_issue_false_verifies_and_only_comments(workers, loop_app, standin, broker_url):
    job_id = fire(loop_app(verify_after=1, resolve=False), standin, "506", "database")["jobs"][0]["id"]
    job_in(broker_url, job_id, {JobStatus.VERIFIED}, timeout=30)
    wait_for(lambda: any(t.startswith("Verified") for t in standin.comment_texts("506")), 10)
    assert standin.issues["506"]["status"] == "unresolved"
    assert not [c for c in standin.api_calls if c["method"] == "PUT"]


def test_a_job_whose_rule_says_verify_none_is_never_verified_nor_resolves(
    workers, loop_app, standin, broker_url
) -> None:
    # Given a rule whose jobs only act (verify: none), with write-back configured
    job_id = fire(loop_app(verify_after=1, verify="none"), standin, "511", "database")["jobs"][0]["id"]
    job_in(broker_url, job_id, {JobStatus.SUCCEEDED})
    # When the success has been delivered to the remote listeners (one message for all)
    store = JobStore(redis_client(broker_url))
    notes = wait_for(
        lambda: [n for n in store.get(job_id).notes if n.get("event") == "succeeded"] or None,
        what="the success delivered",
    )
    # Then no verification was scheduled in that delivery, and the job and issue stay as they are
    assert {n["listener"] for n in notes} == {"sentry-comments"}
    assert store.get(job_id).status == JobStatus.SUCCEEDED
    assert standin.issues["511"]["status"] == "unresolved"
    assert not [c for c in standin.api_calls if c["method"] == "PUT"]


def test_webhook_caused_by_our_own_api_call_is_ignored(loop_app, standin, redis_db) -> None:
    body = fire(
        loop_app(),
        standin,
        "507",
        "database",
        actor={"type": "application", "id": APP_ID, "name": "remediator"},
    )
    assert body == {"status": "ignored", "reason": "caused by remediator's own API call"}
    assert redis_db.zcard("remediator:jobs") == 0


def test_resolved_issue_cancels_its_queued_job_which_then_never_runs(
    make_app, standin, idle_redis, idle_broker_url, log_dir: Path
) -> None:
    client = make_app(rules_for("http://127.0.0.1:9"), broker=idle_broker_url).test_client()
    job_id = fire(client, standin, "508", "database")["jobs"][0]["id"]
    response = fire(client, standin, "508", "database", action="resolved")
    assert response == {"status": "cancelled", "cancelled": [job_id]}
    store = JobStore(redis_client(idle_broker_url))
    job = store.get(job_id)
    assert job is not None and job.status == JobStatus.CANCELLED
    assert job.error == "issue resolved in Sentry before the job started"
    assert queued(idle_redis, "remediator.prod")  # its message is still there
    with running_worker("prod", log_dir, env={"REMEDIATOR_BROKER_URL": idle_broker_url}, name="cancel"):
        wait_for(lambda: drained(idle_redis, "remediator.prod"), what="the worker to take the message")
    job = store.get(job_id)
    assert job is not None and job.status == JobStatus.CANCELLED and job.attempts == 0


def test_a_failing_job_leaks_no_secret_into_any_envelope(workers, loop_app, standin, broker_url):
    job_id = fire(loop_app(), standin, "509", "broken")["jobs"][0]["id"]
    job_in(broker_url, job_id, {JobStatus.FAILED})
    wait_for(lambda: any(e.get("tags", {}).get("job_id") == job_id for e in standin.errors()), 20)
    transaction_of(standin, job_id)
    bodies = b"\n".join(standin.raw_bodies())
    # The secret is in the URL's fragment too, so the failure's message carries it: scrubbed.
    assert b"/status/500#[Filtered]" in bodies
    for secret in (SECRET, TOKEN, STANDIN_TOKEN, SECRET_HEADER, "s3cret-header-value-42"):
        assert secret.encode() not in bodies, f"{secret!r} reached Sentry"


def test_throttled_write_back_is_retried_and_noted_without_touching_the_job(
    workers, loop_app, standin, broker_url
) -> None:
    standin.add_issue("510", title="x", culprit="database")
    standin.throttle(12, retry_after=0.2)  # the client's own retries give up; Celery's go on
    job_id = fire(loop_app(verify_after=60), standin, "510", "database")["jobs"][0]["id"]
    job = job_in(broker_url, job_id, {JobStatus.SUCCEEDED})
    assert job.error is None
    texts = wait_for(
        lambda: (lambda t: t if len(t) >= 2 else None)(standin.comment_texts("510")),
        40,
        0.2,
        "both comments despite the throttling",
    )
    assert any("submitted" in t for t in texts) and any("succeeded" in t for t in texts)
    notes = JobStore(redis_client(broker_url)).get(job_id).notes  # type: ignore[union-attr]
    assert any(not n["ok"] and "429" in n["error"] for n in notes), notes
    assert any(n["ok"] for n in notes)
