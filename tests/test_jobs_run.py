"""Jobs run on real worker processes and their records show how they ended."""

from __future__ import annotations

import json
import sys
import time

import pytest

from remediator.jobs import Job, JobStatus, JobStore, redis_client
from remediator.testing.factories import make_job
from tests.helpers import SECRET, TOKEN, encode, payload, sentry_headers, wait_for


def rules_for(target: str) -> str:
    return f"""
rules:
  - name: ping
    approval: false
    match: {{title: {{contains: "ping"}}}}
    job: {{script: http-request, tier: prod, class: A, namespace: probes,
          params: {{url: "{target}/hook/{{{{ issue_id }}}}", method: POST,
                    json: {{title: "{{{{ title }}}}"}}}}}}
  - name: broken-endpoint
    match: {{title: {{contains: "broken"}}}}
    job: {{script: http-request, tier: nonprod, class: B, params: {{url: "{target}/status/500"}}}}
  - name: db
    approval: false
    match: {{culprit: {{contains: database}}}}
    job: {{script: restart-db-pool, tier: prod, class: A, params: {{
          drain_url: "{target}/pool/drain", restart_url: "{target}/pool/restart",
          health_url: "{target}/healthz", health_interval: 0}}}}
  - name: db-unhealthy
    approval: false
    match: {{culprit: {{contains: flaky}}}}
    job: {{script: restart-db-pool, tier: prod, class: A, params: {{
          drain_url: "{target}/pool/drain", restart_url: "{target}/pool/restart",
          health_url: "{target}/status/503", health_attempts: 2, health_interval: 0}}}}
  - name: command
    match: {{title: {{contains: "command"}}}}
    job: {{script: run-command, tier: nonprod, class: C,
          params: {{argv: ["{sys.executable}", "-c", "import sys; print('echo:', sys.argv[1])",
                            "{{{{ title }}}}"]}}}}
  - name: env
    match: {{title: {{contains: "environment"}}}}
    job: {{script: run-command, tier: nonprod, class: C,
          params: {{argv: ["{sys.executable}", "-c", "import os, json; print(json.dumps(dict(os.environ)))"],
                    env: {{EXTRA: "yes"}}}}}}
  - name: slow
    match: {{title: {{contains: "slow"}}}}
    job: {{script: run-command, tier: nonprod, class: C, time_limit: 2, params: {{argv: [sleep, "30"]}}}}
  - name: build
    match: {{title: {{contains: "Build failed"}}}}
    job: {{script: fix-build-errors, tier: nonprod, class: B}}
"""


def submit(make_app, target: str, **issue: str) -> str:  # type: ignore[no-untyped-def]
    client = make_app(rules_for(target)).test_client()
    document = payload("issue_created")
    document["data"]["issue"].update(issue)
    body = encode(document)
    response = client.post("/sentry/webhook", data=body, headers=sentry_headers("issue", body))
    assert response.status_code == 202, response.get_json()
    job_id: str = response.get_json()["jobs"][0]["id"]
    return job_id


def finished(broker_url: str, job_id: str, timeout: float = 30.0) -> Job:
    store = JobStore(redis_client(broker_url))

    def done() -> Job | None:
        job = store.get(job_id)
        return job if job and job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED) else None

    return wait_for(done, timeout, what=f"job {job_id} to finish")


@pytest.fixture(autouse=True)
def _workers(workers, redis_db):  # type: ignore[no-untyped-def]
    return workers


def test_http_request_job_succeeds_with_its_output(make_app, http_target, broker_url) -> None:
    job_id = submit(make_app, http_target.url, title="ping the service")
    job = finished(broker_url, job_id)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.output is not None and job.output["status"] == 200
    assert job.attempts == 1
    assert job.worker is not None and job.worker.startswith("prod-test@")
    assert job.started_at is not None and job.finished_at is not None
    assert job.finished_at >= job.started_at >= job.created_at
    [call] = http_target.requests
    assert (call["method"], call["path"]) == ("POST", "/hook/1170820242")
    assert '"title": "ping the service"' in call["body"]


def test_failing_http_request_gives_failed_with_the_error(make_app, http_target, broker_url, workers):
    job = finished(broker_url, submit(make_app, http_target.url, title="broken thing"))
    assert job.status == JobStatus.FAILED
    assert job.error is not None and "answered 500, expected 2xx" in job.error
    assert job.worker is not None and job.worker.startswith("nonprod-test@")
    assert job.output is not None and job.output["steps"][0]["status"] == 500
    # An expected failure: Celery logs one line for it, not a crash's traceback
    line = wait_for(
        lambda: next(
            (ln for ln in workers["nonprod"].log().splitlines() if job.id in ln and "raised" in ln), None
        ),
        what="the worker's log line",
    )
    assert "raised expected: JobFailed" in line
    lines = workers["nonprod"].log().splitlines()
    following = lines[lines.index(line) + 1] if lines.index(line) + 1 < len(lines) else ""
    assert not following.startswith("Traceback"), following


def test_restart_db_pool_drains_restarts_and_health_checks_in_order(
    make_app, http_target, broker_url
) -> None:
    job = finished(broker_url, submit(make_app, http_target.url, culprit="app.database.pool"))
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert http_target.paths() == ["/pool/drain", "/pool/restart", "/healthz"]
    assert job.output is not None
    assert [s["step"] for s in job.output["steps"]] == ["drain", "restart", "health-check #1"]


def test_restart_db_pool_that_never_gets_healthy_fails_naming_the_step(
    make_app, http_target, broker_url
) -> None:
    job = finished(broker_url, submit(make_app, http_target.url, culprit="flaky"))
    assert job.status == JobStatus.FAILED
    assert job.error is not None and "not healthy after 2 tries" in job.error
    assert http_target.paths() == ["/pool/drain", "/pool/restart", "/status/503", "/status/503"]


def test_run_command_passes_payload_text_as_one_argument_not_to_a_shell(
    make_app, http_target, broker_url
) -> None:
    title = "command; touch /tmp/pwned-$(id -u) `reboot` && echo"
    job = finished(broker_url, submit(make_app, http_target.url, title=title))
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.output is not None
    assert job.output["stdout"] == f"echo: {title}\n"
    assert job.output["exit_status"] == 0


def test_a_build_fix_that_cannot_tell_which_build_failed_fails_saying_so(make_app, http_target, broker_url):
    job = finished(broker_url, submit(make_app, http_target.url, title="Build failed: tsc"))
    assert job.status == JobStatus.FAILED
    assert job.error is not None and "which build failed is unknown" in job.error


def test_run_command_gets_a_minimal_environment_without_the_workers_secrets(
    make_app, http_target, broker_url
) -> None:
    job = finished(broker_url, submit(make_app, http_target.url, title="print environment"))
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.output is not None
    env = json.loads(job.output["stdout"])
    assert env["EXTRA"] == "yes" and "PATH" in env
    assert not [k for k in env if k.startswith("REMEDIATOR_")]
    assert TOKEN not in job.output["stdout"] and SECRET not in job.output["stdout"]


def test_job_over_its_rules_time_limit_is_stopped_and_recorded_failed(
    make_app, http_target, broker_url
) -> None:
    started = time.monotonic()
    job = finished(broker_url, submit(make_app, http_target.url, title="slow job"), timeout=20)
    assert job.status == JobStatus.FAILED
    assert job.time_limit == 2
    assert job.error is not None and "soft time limit (hard limit 2s)" in job.error
    assert time.monotonic() - started < 10


def test_job_killed_at_the_hard_time_limit_is_recorded_failed(broker_url, redis_db) -> None:
    # Celery calls on_failure in the main worker process after it kills the pool child.
    from billiard.exceptions import TimeLimitExceeded

    from remediator.tasks.remediation import run_job

    store = JobStore(redis_client(broker_url))
    job = store.create(make_job(script="run-command", status=JobStatus.RUNNING, attempts=1))
    run_job.on_failure(TimeLimitExceeded(7), job.id, [job.id], {}, None)
    killed = store.get(job.id)
    assert killed is not None and killed.status == JobStatus.FAILED
    assert killed.error == "killed at the hard time limit (7s)"
    # An outcome already recorded is never overwritten.
    done = store.create(make_job(script="run-command", status=JobStatus.SUCCEEDED, attempts=1))
    run_job.on_failure(TimeLimitExceeded(7), done.id, [done.id], {}, None)
    assert store.get(done.id).status == JobStatus.SUCCEEDED
