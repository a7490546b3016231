"""Rules it promotes: a canary rule runs outside production and only dry-runs in it; each
verified job counts, one failed or ineffective job resets the count; the fifth verified job
promotes it, and a promoted rule whose breaker opens goes back to canary — end to end
through a real worker, the web and the Sentry stand-in."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from remediator.jobs import Job, JobStatus, JobStore, redis_client
from remediator.rules.rollout import (
    CANARY,
    PROMOTED,
    READY,
    Rollout,
    after_outcome,
    canary_dry_run,
    rule_hash,
)
from remediator.testing import SentryStandIn
from remediator.testing import sentry_events as sdk
from tests.helpers import (
    STANDIN_TOKEN,
    TOKEN,
    HttpTarget,
    bearer,
    encode,
    person,
    running_worker,
    sentry_headers,
    wait_for,
)

AUTH = {"Authorization": f"Bearer {TOKEN}"}

# -- pure -----------------------------------------------------------------------------


def test_five_verified_promote_one_failure_resets_and_an_open_breaker_demotes() -> None:
    state = Rollout()
    for n in range(1, 5):
        state, what = after_outcome(state, "verified", 5, "auto")
        assert (state.stage, state.count, what) == (CANARY, n, f"{n} of 5 verified")
    reset, what = after_outcome(state, "ineffective", 5, "auto")
    assert (reset.stage, reset.count) == (
        CANARY,
        0,
    ) and what == "count reset: a job was ineffective (4 verified before)"
    state, what = after_outcome(Rollout(CANARY, 4), "verified", 5, "auto")
    assert state.stage == PROMOTED and what == "promoted: 5 of 5 verified"
    assert after_outcome(state, "failed", 5, "auto") == (state, None)  # promoted: outcomes no longer count
    demoted, what = after_outcome(state, "breaker_opened", 5, "auto")
    assert demoted == Rollout(CANARY, 0) and what == "demoted to canary: its breaker opened"
    ready, _ = after_outcome(Rollout(CANARY, 4), "verified", 5, "approval")
    assert ready.stage == READY


def test_a_canary_dry_runs_in_production_and_where_the_environment_is_unknown() -> None:
    assert canary_dry_run(Rollout(), "staging", 5) is None
    assert "only dry-runs until promoted (0 of 5 verified)" in (
        canary_dry_run(Rollout(), "production", 5) or ""
    )
    assert "an unknown environment" in (canary_dry_run(Rollout(), "", 5) or "")
    assert canary_dry_run(Rollout(PROMOTED, 5), "production", 5) is None


def test_the_rollout_is_kept_by_what_the_rule_does() -> None:
    job = {"script": "noop", "tier": "nonprod"}
    assert rule_hash({"title": "x"}, job) == rule_hash({"title": "x"}, dict(job))
    assert rule_hash({"title": "x"}, job) != rule_hash({"title": "x"}, job | {"tier": "prod"})


# -- end to end --------------------------------------------------------------------------


def canary_rules(target: str) -> str:
    return f"""
rules:
  - name: canary-heal
    verify_after: 2
    breaker_after: 1
    rollout: {{stage: canary, promote_after: 5}}
    match: {{resource: [error], title: {{contains: PoolTimeout}}}}
    job: {{script: http-request, tier: nonprod, class: C, params: {{url: "{target}/heal"}}}}
"""


def error_webhook(client: Any, standin: SentryStandIn, issue_id: str, environment: str) -> dict[str, Any]:
    event = sdk.error_event(
        "PoolTimeout",
        f"pool {issue_id} exhausted",
        [sdk.frame("app/db.py", "acquire", 40, module="app.db")],
        environment=environment,
    )
    standin.add_issue(issue_id, event=event)
    document = standin.event_webhook(issue_id, resource="error")
    body = encode(document)
    answer = client.post("/sentry/webhook", data=body, headers=sentry_headers("error", body))
    assert answer.status_code == 202, answer.get_json()
    result: dict[str, Any] = answer.get_json()["jobs"][0]
    return result


def job_in(store: JobStore, job_id: str, statuses: set[JobStatus], timeout: float = 30) -> Job:
    def reached() -> Job | None:
        job = store.get(job_id)
        return job if job is not None and job.status in statuses else None

    return wait_for(reached, timeout, 0.1, f"job {job_id} in {sorted(statuses)}")


def rollout_of(client: Any) -> dict[str, Any]:
    rules = client.get("/api/rules", headers=AUTH).get_json()["rules"]
    found: dict[str, Any] = next(r for r in rules if r["name"] == "canary-heal")["rollout"]
    return found


def test_a_canary_promotes_after_its_fifth_verified_job_and_goes_back_when_its_breaker_opens(
    tmp_path: Path, private_broker_url: str, log_dir: Path, standin: SentryStandIn, make_app
) -> None:
    target = HttpTarget()
    rules = tmp_path / "rules.yaml"
    rules.write_text(canary_rules(target.url))
    env = {"REMEDIATOR_BROKER_URL": private_broker_url, "REMEDIATOR_RULES_FILE": str(rules)}
    client = make_app(
        rules.read_text(), broker=private_broker_url, sentry_auth_token=STANDIN_TOKEN
    ).test_client()
    store = JobStore(redis_client(private_broker_url))
    try:
        with running_worker("nonprod", log_dir, env=env, name="nonprod-canary"):
            # in production it only dry-runs; elsewhere it runs
            prod = error_webhook(client, standin, "7500", "production")
            assert prod["status"] == "dry_run"
            assert "canary: in production" in (store.get(prod["id"]).reason or "")
            staged = [error_webhook(client, standin, str(7501 + n), "staging")["id"] for n in range(5)]
            for job_id in staged:
                assert (
                    job_in(store, job_id, {JobStatus.VERIFIED, JobStatus.INEFFECTIVE}).status
                    is JobStatus.VERIFIED
                )
            promoted = wait_for(
                lambda: (r := rollout_of(client))["stage"] == PROMOTED and r, 20, 0.1, "the promotion"
            )
            assert promoted["verified"] == 5 and promoted["log"][0]["what"] == "promoted: 5 of 5 verified"
            # promoted: production jobs run
            after = error_webhook(client, standin, "7510", "production")
            assert after["status"] == "queued"
            assert job_in(store, after["id"], {JobStatus.VERIFIED}).status is JobStatus.VERIFIED
            # an ineffective job opens its breaker (after 1): the rule goes back to canary
            bad = error_webhook(client, standin, "7511", "staging")["id"]
            job_in(store, bad, {JobStatus.SUCCEEDED})
            time.sleep(0.05)
            standin.add_event("7511")  # the problem goes on
            assert (
                job_in(store, bad, {JobStatus.VERIFIED, JobStatus.INEFFECTIVE}).status
                is JobStatus.INEFFECTIVE
            )
            demoted = wait_for(
                lambda: (r := rollout_of(client))["stage"] == CANARY and r, 20, 0.1, "the demotion"
            )
            assert demoted["log"][0]["what"] == "demoted to canary: its breaker opened"
            # an operator promotes it again by hand, and says who
            dana = bearer(person(store.client, "dana", "admin"))
            client.post("/api/rules/canary-heal/enable", headers=dana)
            answer = client.post("/api/rules/canary-heal/promote", headers=dana).get_json()
            assert answer["was"] == CANARY and rollout_of(client)["log"][0]["what"] == "promoted by dana"
            # per-rule efficacy on the rules API and /metrics
            rules = client.get("/api/rules", headers=AUTH).get_json()["rules"]
            figures = next(r for r in rules if r["name"] == "canary-heal")["efficacy"]
            assert (figures["runs"], figures["stage"]) == (7, PROMOTED)
            assert figures["verified_rate"] == 6 / 7 and figures["ineffective_rate"] == 1 / 7
            assert figures["recovery_p50_seconds_7d"] is not None
            metrics = client.get("/metrics").get_data(as_text=True)
            assert 'remediator_rule_canary{rule="canary-heal"} 0.0' in metrics
            assert 'remediator_rule_runs{rule="canary-heal"} 7.0' in metrics
    finally:
        target.close()
    assert target.paths().count("/heal") == 7  # five staging, one promoted production, one ineffective


def test_promoting_a_rule_without_a_rollout_is_refused(make_app, redis_db) -> None:
    client = make_app(
        "rules:\n  - name: plain\n    match: {culprit: x}\n    job: {script: noop, tier: nonprod, class: C}\n"
    ).test_client()
    answer = client.post("/api/rules/plain/promote", json={"by": "dana"}, headers=AUTH)
    assert answer.status_code == 409 and "has no rollout" in answer.get_json()["reason"]
    assert client.post("/api/rules/nowhere/promote", headers=AUTH).status_code == 404
