"""The `seer` analyzer: remediator starts Seer Autofix through the REST API (the stand-in),
the stand-in sends the `seer` webhooks as Sentry does, each is a note and an event on the
job, and the job ends at its tier's stopping point; no budget fails it, silence leaves it
needing attention."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from werkzeug.serving import make_server

from remediator.jobs import JobStatus, JobStore
from remediator.testing import SentryStandIn
from tests.conftest import _db_url
from tests.helpers import SECRET, WorkerProcess, clean, encode, payload, sentry_headers, wait_for

RULES = """
rules:
  - name: analyse
    verify: none
    match: {title: {contains: TypeError}}
    job: {script: analyze-production-error, tier: prod, class: B, namespace: error-analysis}
"""


@pytest.fixture(scope="module")
def seer_worker(broker_url, log_dir) -> Iterator[dict[str, str]]:
    env = {
        "REMEDIATOR_BROKER_URL": _db_url(broker_url, 4),
        "REMEDIATOR_ANALYZER": "seer",
        "REMEDIATOR_SEER_TIMEOUT": "6",
    }
    clean(redis.Redis.from_url(env["REMEDIATOR_BROKER_URL"]))
    worker = WorkerProcess("prod", log_dir, env=env, name="prod-seer").start()
    yield env
    worker.stop()


@pytest.fixture
def web(seer_worker, make_app, standin: SentryStandIn) -> Iterator[dict[str, Any]]:
    client = redis.Redis.from_url(seer_worker["REMEDIATOR_BROKER_URL"], decode_responses=True)
    clean(client)
    app = make_app(RULES, broker=seer_worker["REMEDIATOR_BROKER_URL"])
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield {
        "url": f"http://127.0.0.1:{server.server_port}",
        "app": app.test_client(),
        "store": JobStore(client),
    }
    server.shutdown()


def submit(web: dict[str, Any], standin: SentryStandIn, issue_id: str) -> str:
    standin.add_issue(issue_id, title="TypeError: undefined is not a function")
    document = payload("issue_created")
    document["data"]["issue"].update(id=issue_id, title="TypeError: undefined is not a function")
    body = encode(document)
    answer = web["app"].post("/sentry/webhook", data=body, headers=sentry_headers("issue", body))
    assert answer.status_code == 202, answer.get_data(as_text=True)
    job_id: str = answer.get_json()["jobs"][0]["id"]
    return job_id


def finished(web: dict[str, Any], job_id: str) -> Any:
    done = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.NEEDS_ATTENTION)
    return wait_for(lambda: (j := web["store"].get(job_id)) and j.status in done and j, 30, 0.05, "the job")


def test_seer_runs_to_the_tiers_stopping_point_through_its_webhooks(web, standin: SentryStandIn) -> None:
    job_id = submit(web, standin, "6101")
    run = wait_for(lambda: standin.autofix_runs.get("6101"), 20, 0.05, "the autofix run")
    assert run["request"] == {"step": "root_cause", "stopping_point": "root_cause"}
    hook = f"{web['url']}/sentry/webhook"
    standin.send_seer(hook, SECRET, "6101", "root_cause_started", {})
    cause: dict[str, Any] = {"description": "The handler calls a method on an undefined widget.", "steps": []}
    standin.send_seer(hook, SECRET, "6101", "root_cause_completed", {"root_cause": cause})
    job = finished(web, job_id)
    assert job.status is JobStatus.SUCCEEDED, job.error
    assert job.output["analyzer"] == "seer" and job.output["run_id"] == str(run["run_id"])
    assert job.output["stages"] == ["root_cause_started", "root_cause_completed"]
    assert job.output["root_cause"]["description"] == cause["description"]
    seer_notes = [n for n in job.notes if n["kind"] == "seer"]
    assert [n["action"] for n in seer_notes] == ["root_cause_started", "root_cause_completed"]
    assert [e["event"] for e in job.timeline].count("seer_progress") == 2
    comments = [c for c in standin.comment_texts("6101") if c.startswith("## 🤖 AI Analysis")]
    assert len(comments) == 1 and cause["description"] in comments[0]


def test_a_stage_of_an_unknown_run_is_matched_by_its_issue(web, standin: SentryStandIn) -> None:
    job_id = submit(web, standin, "6104")
    wait_for(lambda: standin.autofix_runs.get("6104"), 20, 0.05, "the autofix run")
    hook = f"{web['url']}/sentry/webhook"
    answer = standin.send_seer(
        hook, SECRET, "6104", "root_cause_completed", {"root_cause": {"description": "d"}}, run_id=5
    )
    assert answer == (200, {"status": "noted", "job": job_id, "action": "root_cause_completed"})
    assert finished(web, job_id).status is JobStatus.SUCCEEDED


def test_a_seer_webhook_for_an_unknown_run_is_ignored(web, standin: SentryStandIn) -> None:
    answer = standin.send_seer(
        f"{web['url']}/sentry/webhook", SECRET, "999", "root_cause_started", {}, run_id=424242
    )
    assert answer == (200, {"status": "ignored", "reason": "no job for seer run 424242"})


def test_no_seer_budget_fails_the_job_saying_so(web, standin: SentryStandIn) -> None:
    standin.seer_budget = False
    job = finished(web, submit(web, standin, "6102"))
    assert job.status is JobStatus.FAILED
    assert job.error == "Seer has no budget in this organization (402): nothing was analysed"


def test_a_run_that_never_reaches_its_stopping_point_needs_attention(web, standin: SentryStandIn) -> None:
    job_id = submit(web, standin, "6103")
    wait_for(lambda: standin.autofix_runs.get("6103"), 20, 0.05, "the autofix run")
    standin.send_seer(f"{web['url']}/sentry/webhook", SECRET, "6103", "root_cause_started", {})
    job = finished(web, job_id)
    assert job.status is JobStatus.NEEDS_ATTENTION
    assert "did not reach root_cause within 6 s (stages seen: root_cause_started)" in job.reason


def test_a_seer_webhook_that_does_not_fit_is_400_naming_the_field(web) -> None:
    body = encode(payload("issue_created"))
    answer = web["app"].post("/sentry/webhook", data=body, headers=sentry_headers("seer", body))
    assert answer.status_code == 400
    assert answer.get_json()["reason"].startswith("body does not fit a Sentry 'seer' webhook: data.run_id")
