"""Issues it lets settle: a rule's job waits before it runs and is cancelled when Sentry
resolves the issue meanwhile (its webhook, or a check at the end of the wait); `settle: auto`
learns the wait from the rule's own history — tested through a real worker and the Sentry
stand-in resolving the issue mid-wait."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from remediator.defaults import LEARN_SETTLE_TASK, PriorityClass, queue_for
from remediator.errors import RuleError
from remediator.issue_log.store import IssueLog
from remediator.jobs import Job, JobStatus, JobStore, redis_client
from remediator.payloads import parse_webhook, subject_of
from remediator.rules.loader import parse_rules
from remediator.rules.settling import learned_wait, settle_for
from remediator.testing import SentryStandIn
from remediator.testing.factories import make_job
from remediator.worker.celery_app import create_celery
from tests.helpers import (
    STANDIN_TOKEN,
    TOKEN,
    HttpTarget,
    encode,
    payload,
    running_worker,
    sentry_headers,
    wait_for,
)

# -- pure -----------------------------------------------------------------------------


def test_auto_settles_for_the_90th_percentile_when_a_third_resolved_by_themselves() -> None:
    history = [(False, float(t)) for t in (10, 20, 30, 40, 50, 60, 70, 80, 90, 100)] + [(True, 5.0)] * 5
    wait, why = learned_wait(history, settle_max=900)
    assert wait == 90 and "10 of 15 issues of the last 30 days resolved by themselves" in why
    assert learned_wait(history, settle_max=60)[0] == 60  # capped
    few = [(False, 10.0)] * 2 + [(True, None)] * 5 + [(False, None)] * 2
    assert learned_wait(few, settle_max=900) == (
        0.0,
        "2 of 9 issues of the last 30 days resolved by themselves: fewer than a third, so it does not settle",
    )
    assert learned_wait([], 900)[0] == 0


def test_class_a_never_settles_for_auto_but_does_for_a_duration_its_rule_gives() -> None:
    learned = (120.0, "learned")
    assert settle_for("auto", PriorityClass.A, learned) == (0.0, None)
    assert settle_for("auto", PriorityClass.C, learned)[0] == 120
    assert settle_for(300.0, PriorityClass.A, None) == (300.0, "its rule says settle: 5 min")
    assert settle_for(None, PriorityClass.C, learned) == (0.0, None)


def test_a_settle_that_is_neither_a_duration_nor_auto_is_refused_naming_the_rule_and_field() -> None:
    rule = """
rules:
  - name: r
    settle: {}
    match: {{culprit: x}}
    job: {{script: noop, tier: nonprod, class: C}}
"""
    with pytest.raises(RuleError, match=r"rule 'r': settle"):
        parse_rules(rule.format("soon"))
    assert parse_rules(rule.format("auto")).rules[0].settle == "auto"
    assert parse_rules(rule.format("5m")).rules[0].settle == 300


# -- through a real worker and the stand-in ----------------------------------------------


def rules_text(target: str, settle: str) -> str:
    return f"""
rules:
  - name: flaky
    settle: {settle}
    verify: none
    approval: false
    match: {{culprit: {{contains: flaky}}}}
    job: {{script: http-request, tier: nonprod, class: C, params: {{url: "{target}/heal"}}}}
"""


@pytest.fixture
def target() -> Iterator[HttpTarget]:
    served = HttpTarget()
    yield served
    served.close()


@pytest.fixture
def settling(
    tmp_path: Path,
    private_broker_url: str,
    log_dir: Path,
    standin: SentryStandIn,
    target: HttpTarget,
    make_app,
):  # type: ignore[no-untyped-def]
    """A web app and a real nonprod worker on a private broker, with a rule file set per test."""
    rules = tmp_path / "rules.yaml"

    def start(settle: str) -> Any:
        rules.write_text(rules_text(target.url, settle))
        env = {"REMEDIATOR_BROKER_URL": private_broker_url, "REMEDIATOR_RULES_FILE": str(rules)}
        worker = running_worker("nonprod", log_dir, env=env, name="nonprod-settle")
        app = make_app(rules.read_text(), broker=private_broker_url, sentry_auth_token=STANDIN_TOKEN)
        return worker, app.test_client()

    return start


def fire(client: Any, standin: SentryStandIn, issue_id: str, action: str = "created") -> dict[str, Any]:
    if issue_id not in standin.issues:
        standin.add_issue(issue_id, title=f"flaky {issue_id}", culprit="app.flaky")
    document = payload("issue_created") | {"action": action}
    document["data"]["issue"].update(id=issue_id, culprit="app.flaky", title=f"flaky {issue_id}")
    if action == "resolved":
        document["data"]["issue"]["status"] = "resolved"
        document["actor"] = {"type": "user", "id": 7, "name": "Dana Ops"}
    body = encode(document)
    answer = client.post("/sentry/webhook", data=body, headers=sentry_headers("issue", body))
    assert answer.status_code in (200, 202), answer.get_json()
    result: dict[str, Any] = answer.get_json()
    return result


def final(broker_url: str, job_id: str, timeout: float = 30) -> Job:
    store = JobStore(redis_client(broker_url))

    def done() -> Job | None:
        job = store.get(job_id)
        return job if job is not None and job.status not in (JobStatus.QUEUED, JobStatus.RUNNING) else None

    return wait_for(done, timeout, 0.1, f"job {job_id} to finish")


def test_a_resolved_webhook_mid_wait_cancels_the_settling_job_and_nothing_runs(
    settling, standin, target, private_broker_url
) -> None:
    worker, client = settling("4s")
    with worker:
        job_id = fire(client, standin, "6101")["jobs"][0]["id"]
        job = JobStore(redis_client(private_broker_url)).get(job_id)
        assert job is not None and job.status is JobStatus.QUEUED
        assert job.settle_until is not None and 3.9 < job.settle_until - job.created_at < 4.1
        assert "its rule says settle: 4 s" in (job.settle_note or "")
        fire(client, standin, "6101", action="resolved")  # Sentry resolves it during the wait
        done = final(private_broker_url, job_id)
        assert done.status is JobStatus.CANCELLED
        assert "resolved by itself while settling" in (done.error or "")
    assert target.paths() == []  # the script never ran
    auth = {"Authorization": "Bearer " + TOKEN}
    figures = client.get("/api/rules", headers=auth).get_json()["rules"][0]["efficacy"]
    assert figures["settled_7d"] == 1 and figures["runs"] == 0  # settling spared it a run
    submitted = wait_for(
        lambda: [t for t in standin.comment_texts("6101") if "submitted" in t],
        10,
        0.1,
        "the submitted comment",
    )
    assert "It waits 4 s before it runs (its rule says settle: 4 s)" in submitted[0]


def test_at_the_end_of_the_wait_sentry_is_asked_and_a_resolved_issue_cancels_the_job(
    settling, standin, target, private_broker_url
) -> None:
    worker, client = settling("2s")
    with worker:
        job_id = fire(client, standin, "6102")["jobs"][0]["id"]
        standin.issues["6102"]["status"] = "resolved"  # resolved, and no webhook said so
        done = final(private_broker_url, job_id)
    assert done.status is JobStatus.CANCELLED and "resolved in Sentry after" in (done.error or "")
    assert target.paths() == []


def test_an_issue_still_open_after_the_wait_runs_its_job(
    settling, standin, target, private_broker_url
) -> None:
    worker, client = settling("2s")
    with worker:
        job_id = fire(client, standin, "6103")["jobs"][0]["id"]
        done = final(private_broker_url, job_id)
    assert done.status is JobStatus.SUCCEEDED and target.paths() == ["/heal"]
    assert done.started_at is not None and done.started_at - done.created_at >= 2.0
    notes = [n.get("detail", "") for n in done.notes if n["kind"] == "settle"]
    assert any("queued" in n for n in notes)


def history(broker_url: str, resolving: bool) -> None:
    """Thirty days of the rule's past: twelve issues whose jobs never ran (dry runs); with
    `resolving`, eight of them resolved by themselves within 3 s of their first webhook."""
    client = redis_client(broker_url)
    store, log = JobStore(client), IssueLog(client)
    now = time.time()
    for n in range(12):
        issue_id, at = str(6200 + n), now - (n + 1) * 86400
        created = payload("issue_created")
        created["data"]["issue"].update(id=issue_id, culprit="app.flaky", title=f"flaky {issue_id}")
        log.seen(subject_of("issue", parse_webhook("issue", created)), at=at)
        store.create(
            make_job(rule="flaky", status=JobStatus.DRY_RUN, sentry_issue_id=issue_id, created_at=at)
        )
        if resolving and n < 8:
            resolved = copy.deepcopy(created) | {
                "action": "resolved",
                "actor": {"type": "user", "id": 7, "name": "Dana"},
            }
            resolved["data"]["issue"]["status"] = "resolved"
            log.seen(subject_of("issue", parse_webhook("issue", resolved)), at=at + 1 + n % 3)


@pytest.mark.parametrize("resolving", [True, False], ids=["resolve-by-themselves", "do-not"])
def test_auto_waits_on_a_history_of_issues_resolving_by_themselves_and_not_otherwise(
    settling, standin, target, private_broker_url, resolving
) -> None:
    history(private_broker_url, resolving)
    worker, client = settling("auto")
    with worker:
        celery = create_celery(private_broker_url)
        celery.send_task(LEARN_SETTLE_TASK, queue=queue_for("nonprod"))
        store = JobStore(redis_client(private_broker_url))
        wait_for(lambda: store.client.get("remediator:settle:flaky"), 20, 0.1, "the learned wait")
        job_id = fire(client, standin, "6300")["jobs"][0]["id"]
        job = store.get(job_id)
        assert job is not None
        if resolving:
            assert job.settle_until is not None and job.settle_until - job.created_at == pytest.approx(
                3, abs=0.1
            )
            assert "8 of 12 issues of the last 30 days resolved by themselves" in (job.settle_note or "")
        else:
            assert job.settle_until is None and job.settle_note is None
        done = final(private_broker_url, job_id)
    assert done.status is JobStatus.SUCCEEDED


def test_the_backtest_says_per_rule_how_many_jobs_settling_would_have_spared(
    standin, tmp_path, broker_url
) -> None:
    from remediator.testing.sentry_standin import iso
    from tests.test_backtest import backtest

    start = time.time() - 3 * 86400
    for n in range(10):
        issue_id, at = str(6400 + n), start + n * 3600
        standin.add_issue(
            issue_id, title=f"flaky {n}", culprit="app.flaky", firstSeen=iso(at), lastSeen=iso(at + 30)
        )
        if n < 4:
            standin.set_status(issue_id, "resolved", at=at + 120)  # by itself, within 10 minutes
        elif n < 6:
            standin.set_status(issue_id, "resolved", at=at + 7200)  # two hours later: too late
    rules = tmp_path / "rules.yaml"
    rules.write_text(rules_text("http://127.0.0.1:9/never", "10m"))
    done = backtest(["backtest", "--since", "7d", "--json"], standin, rules, broker_url)
    assert done.returncode == 0, done.stderr
    settling = json.loads(done.stdout)["settling"]["flaky"]
    assert settling == {"wait_seconds": 600.0, "auto": False, "would_run": 10, "checked": 10, "saved": 4}
    text = backtest(["backtest", "--since", "7d"], standin, rules, broker_url)
    assert "flaky: settling 10 min would have spared 4 of 10 jobs it ran" in text.stdout
