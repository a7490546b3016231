"""Safe under storms and hostile input: dedup, replay, throttles, coalescing, breaker, pause,
approval and dry-run, against a real Redis. Every decision not to run is a job record."""

from __future__ import annotations

import json
import threading
import time

import pytest
import redis

from remediator.jobs import JobStatus, JobStore, redis_client
from tests.helpers import SECRET, TOKEN, bearer, encode, payload, person, queued, sentry_headers, wait_for

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def rules(**options: object) -> str:
    extra = "".join(f"    {k}: {json.dumps(v)}\n" for k, v in options.items())
    return f"""
rules:
  - name: fix
{extra}    match: {{culprit: {{contains: database}}}}
    job: {{script: http-request, tier: nonprod, class: C, params: {{url: "http://127.0.0.1:9/fix"}}}}
"""


def issue_body(issue_id: str = "1170820242", action: str = "created") -> bytes:
    document = payload("issue_created") | {"action": action}
    document["data"]["issue"].update(id=issue_id, culprit="app.database.pool")
    return encode(document)


def event_body(event_id: str, issue_id: str = "1117540176") -> bytes:
    document = payload("event_alert_triggered")
    document["data"]["event"].update(event_id=event_id, issue_id=issue_id, culprit="database")
    return encode(document)


def post(client, body: bytes, resource: str = "issue", **header_changes: str):  # type: ignore[no-untyped-def]
    headers = sentry_headers(resource, body) | header_changes
    return client.post("/sentry/webhook", data=body, headers=headers)


def statuses(broker: str) -> list[str]:
    return sorted(j.status.value for j in JobStore(redis_client(broker)).list(limit=5000))


def test_1000_deliveries_of_one_issue_from_8_threads_make_exactly_one_job(
    make_app, idle_redis, idle_broker_url
) -> None:
    app = make_app(rules(), broker=idle_broker_url)
    body = issue_body()
    answers: list[tuple[int, dict]] = []  # type: ignore[type-arg]

    def deliver(n: int) -> None:
        client = app.test_client()
        for _ in range(n):
            response = post(client, body)  # each with its own Request-ID, like Sentry's retries
            answers.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=deliver, args=(125,)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    accepted = [a for code, a in answers if code == 202]
    duplicates = [a for code, a in answers if code == 200]
    assert len(accepted) == 1 and len(duplicates) == 999
    job_id = accepted[0]["jobs"][0]["id"]
    assert {d["status"] for d in duplicates} == {"duplicate"}
    assert {d["job"] for d in duplicates} == {job_id}
    assert queued(idle_redis, "remediator.nonprod") == {"6": [job_id]}
    assert statuses(idle_broker_url).count("queued") == 1


@pytest.mark.parametrize("stamp", ["-400", "+400", "", "yesterday", "nan"])
def test_timestamp_outside_the_replay_window_is_401(make_app, idle_redis, idle_broker_url, stamp):
    if stamp[:1] in "+-" and stamp:  # seconds from now, taken when the test runs
        stamp = str(int(time.time()) + int(stamp))
    client = make_app(rules(), broker=idle_broker_url).test_client()
    response = post(client, issue_body(), **{"Sentry-Hook-Timestamp": stamp})
    assert response.status_code == 401
    assert "Sentry-Hook-Timestamp" in response.get_json()["reason"]
    assert idle_redis.zcard("remediator:jobs") == 0


def test_burst_of_distinct_issues_is_capped_at_max_runs_and_the_rest_recorded_throttled(
    make_app, idle_redis, idle_broker_url
) -> None:
    client = make_app(rules(max_runs="5 per 1h"), broker=idle_broker_url).test_client()
    answers = [post(client, issue_body(str(1000 + n))).get_json() for n in range(20)]
    jobs = [a["jobs"][0] for a in answers]
    assert [j["status"] for j in jobs] == ["queued"] * 5 + ["throttled"] * 15
    assert len(queued(idle_redis, "remediator.nonprod")["6"]) == 5
    record = JobStore(redis_client(idle_broker_url)).get(jobs[-1]["id"])
    assert record is not None and record.reason == "max_runs: 5 per 3600s reached for rule 'fix'"


def test_tier_cap_applies_across_rules(make_app, idle_redis, idle_broker_url) -> None:
    client = make_app(rules(), broker=idle_broker_url, tier_max_runs={"nonprod": (3, 600.0)}).test_client()
    jobs = [post(client, issue_body(str(2000 + n))).get_json()["jobs"][0] for n in range(5)]
    assert [j["status"] for j in jobs] == ["queued"] * 3 + ["throttled"] * 2
    record = JobStore(redis_client(idle_broker_url)).get(jobs[-1]["id"])
    assert record is not None and "tier cap: 3 per 600s reached on nonprod" in (record.reason or "")


def test_once_within_throttles_a_second_job_for_the_same_key(make_app, idle_redis, idle_broker_url):
    client = make_app(rules(once_within="10m"), broker=idle_broker_url).test_client()
    first = post(client, event_body("a" * 32), "event_alert").get_json()["jobs"][0]
    # the coalescing slot is freed as if the first job had finished
    idle_redis.delete(*idle_redis.keys("remediator:active:*"))
    second = post(client, event_body("b" * 32), "event_alert").get_json()["jobs"][0]
    assert (first["status"], second["status"]) == ("queued", "throttled")
    record = JobStore(redis_client(idle_broker_url)).get(second["id"])
    assert record is not None and record.related_job == first["id"]
    assert record.reason == "once_within 600s: a job for key '1117540176' ran already"


def test_a_second_match_while_a_job_is_pending_is_coalesced_onto_it(
    make_app, idle_redis, idle_broker_url
) -> None:
    client = make_app(rules(), broker=idle_broker_url).test_client()
    first = post(client, event_body("c" * 32), "event_alert").get_json()["jobs"][0]
    second = post(client, event_body("d" * 32), "event_alert").get_json()["jobs"][0]
    assert (first["status"], second["status"]) == ("queued", "coalesced")
    record = JobStore(redis_client(idle_broker_url)).get(second["id"])
    assert record is not None and record.related_job == first["id"]
    assert queued(idle_redis, "remediator.nonprod") == {"6": [first["id"]]}


def test_dry_run_rule_records_what_it_would_do_and_queues_nothing(
    make_app, idle_redis, idle_broker_url
) -> None:
    client = make_app(rules(dry_run=True), broker=idle_broker_url).test_client()
    job = post(client, issue_body()).get_json()["jobs"][0]
    assert job["status"] == "dry_run"
    assert queued(idle_redis, "remediator.nonprod") == {}
    record = JobStore(redis_client(idle_broker_url)).get(job["id"])
    assert record is not None and record.reason == "dry run: would queue http-request on nonprod"


def test_global_dry_run_overrides_every_rule(make_app, idle_redis, idle_broker_url) -> None:
    client = make_app(rules(), broker=idle_broker_url, dry_run=True).test_client()
    assert post(client, issue_body()).get_json()["jobs"][0]["status"] == "dry_run"
    assert queued(idle_redis, "remediator.nonprod") == {}


def test_approval_records_the_approver_and_queues_the_job(make_app, idle_redis, idle_broker_url):
    client = make_app(rules(approval=True), broker=idle_broker_url).test_client()
    job = post(client, issue_body()).get_json()["jobs"][0]
    assert job["status"] == "awaiting_approval"
    assert queued(idle_redis, "remediator.nonprod") == {}
    assert client.post(f"/api/jobs/{job['id']}/approve", json={"by": "alice"}).status_code == 401
    alice = bearer(person(idle_redis, "alice", "approver"))
    approved = client.post(f"/api/jobs/{job['id']}/approve", json={"by": "mallory"}, headers=alice)
    assert approved.status_code == 200
    assert approved.get_json()["approved_by"] == "alice" and approved.get_json()["status"] == "queued"
    assert queued(idle_redis, "remediator.nonprod") == {"6": [job["id"]]}
    again = client.post(
        f"/api/jobs/{job['id']}/approve", headers=bearer(person(idle_redis, "bob", "approver"))
    )
    assert again.status_code == 409 and "is queued, not awaiting_approval" in again.get_json()["reason"]


def test_rejected_job_never_runs_and_frees_its_key(make_app, idle_redis, idle_broker_url) -> None:
    client = make_app(rules(approval=True), broker=idle_broker_url).test_client()
    job = post(client, issue_body("3001")).get_json()["jobs"][0]
    rejected = client.post(
        f"/api/jobs/{job['id']}/reject",
        json={"reason": "risky"},
        headers=bearer(person(idle_redis, "bob", "approver")),
    ).get_json()
    assert rejected["status"] == "rejected" and rejected["reason"] == "rejected by bob: risky"
    assert queued(idle_redis, "remediator.nonprod") == {}
    later = post(client, issue_body("3001", action="unresolved")).get_json()["jobs"][0]
    assert later["status"] == "awaiting_approval"  # not coalesced onto the rejected job


def age(client: redis.Redis, job_id: str, seconds: float) -> None:
    """Make a waiting job look submitted `seconds` earlier than it was."""
    created = float(client.hget(f"remediator:job:{job_id}", "created_at") or 0) - seconds
    client.hset(f"remediator:job:{job_id}", "created_at", json.dumps(created))
    client.zadd("remediator:awaiting-approval", {job_id: created})


def test_unapproved_job_expires_after_the_ttl(make_app, idle_redis, idle_broker_url) -> None:
    app = make_app(rules(approval=True), broker=idle_broker_url, approval_ttl_seconds=2)
    client = app.test_client()
    late = post(client, issue_body("4001")).get_json()["jobs"][0]
    swept = post(client, issue_body("4002")).get_json()["jobs"][0]
    for job in (late, swept):  # both have waited longer than the TTL
        age(idle_redis, job["id"], seconds=5)
    response = client.post(f"/api/jobs/{late['id']}/approve", json={"by": "alice"}, headers=AUTH)
    assert response.status_code == 409 and "expired" in response.get_json()["reason"]
    assert app.extensions["remediator"].dispatcher.expire_stale() == [swept["id"]]
    store = JobStore(redis_client(idle_broker_url))
    assert {store.get(j["id"]).status for j in (late, swept)} == {JobStatus.EXPIRED}  # type: ignore[union-attr]
    assert queued(idle_redis, "remediator.nonprod") == {}


def test_pause_holds_matches_which_can_be_released_or_discarded(
    make_app, idle_redis, idle_broker_url
) -> None:
    client = make_app(rules(), broker=idle_broker_url).test_client()
    ops = bearer(person(idle_redis, "ops", "operator"))
    paused = client.post("/api/pause", json={"reason": "deploy"}, headers=ops)
    assert paused.get_json() == {"paused": True, "reason": "paused by ops: deploy"}
    held = [post(client, issue_body(str(5000 + n))).get_json()["jobs"][0] for n in range(2)]
    assert [j["status"] for j in held] == ["held", "held"]
    assert queued(idle_redis, "remediator.nonprod") == {}
    resumed = client.post("/api/resume", headers=ops)
    assert resumed.get_json() == {"paused": False, "reason": None}
    released = client.post(f"/api/jobs/{held[0]['id']}/release", headers=ops)
    assert released.get_json()["status"] == "queued"
    discarded = client.post(f"/api/jobs/{held[1]['id']}/discard", headers=ops)
    assert discarded.get_json()["status"] == "discarded"
    assert queued(idle_redis, "remediator.nonprod") == {"6": [held[0]["id"]]}
    listed = client.get("/api/jobs?status=discarded", headers=AUTH).get_json()["jobs"]
    assert [j["id"] for j in listed] == [held[1]["id"]]


def test_circuit_breaker_opens_after_k_failures_and_closes_on_enable(
    make_app, workers, redis_db, broker_url, http_target
) -> None:
    text = rules(breaker_after=2).replace("http://127.0.0.1:9/fix", f"{http_target.url}/status/500")
    client = make_app(text).test_client()
    store = JobStore(redis_client(broker_url))

    def run(issue_id: str) -> str:
        job_id: str = post(client, issue_body(issue_id)).get_json()["jobs"][0]["id"]
        deadline = time.monotonic() + 20
        while store.get(job_id).status in (JobStatus.QUEUED, JobStatus.RUNNING):  # type: ignore[union-attr]
            assert time.monotonic() < deadline
            time.sleep(0.05)
        return store.get(job_id).status.value  # type: ignore[union-attr]

    assert [run("6001"), run("6002")] == ["failed", "failed"]
    # The breaker listener runs after the outcome is recorded: the rule's state says when.
    rule = wait_for(lambda: _disabled_rule(client), what="the breaker to open")
    assert rule["breaker"]["disabled_reason"].startswith("2 consecutive failed or ineffective")
    suppressed = post(client, issue_body("6003")).get_json()["jobs"][0]
    assert suppressed["status"] == "suppressed"
    enabled = client.post("/api/rules/fix/enable", headers=AUTH, json={"by": "ops"}).get_json()
    assert enabled["was_disabled"] is True and enabled["enabled"] is True
    assert post(client, issue_body("6004")).get_json()["jobs"][0]["status"] == "queued"


def _disabled_rule(client):  # type: ignore[no-untyped-def]
    rule = client.get("/api/rules", headers=AUTH).get_json()["rules"][0]
    return rule if not rule["enabled"] else None


def test_payload_text_is_data_never_code(make_app, idle_redis, idle_broker_url) -> None:
    hostile = (
        "$(touch /tmp/pwned) `id`; rm -rf / && {{ cycler.__init__.__globals__.os }} "
        "{0.__class__} {{7*7}} ../../etc/passwd %s%n"
    )
    text = """
rules:
  - name: echo
    match: {culprit: {contains: database}}
    job: {script: run-command, tier: nonprod, class: C,
          params: {argv: [echo, "{{ title }}", "{{ tags.get('x', culprit) }}"]}}
"""
    client = make_app(text, broker=idle_broker_url).test_client()
    document = payload("issue_created")
    document["data"]["issue"].update(title=hostile, culprit=f"database {hostile}")
    job = post(client, encode(document)).get_json()["jobs"][0]
    record = JobStore(redis_client(idle_broker_url)).get(job["id"])
    assert record is not None and record.status == JobStatus.QUEUED
    assert record.params["argv"] == ["echo", hostile, f"database {hostile}"]


@pytest.mark.parametrize(
    "template",
    [
        "{{ cycler.__init__.__globals__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ data.__class__ }}",
    ],
)
def test_a_rule_template_that_reaches_for_internals_is_stopped_by_the_sandbox(
    make_app, idle_redis, idle_broker_url, template: str
) -> None:
    text = rules().replace('"http://127.0.0.1:9/fix"', json.dumps("http://x/" + template))
    client = make_app(text, broker=idle_broker_url).test_client()
    job = post(client, issue_body()).get_json()["jobs"][0]
    record = JobStore(redis_client(idle_broker_url)).get(job["id"])
    assert record is not None and record.status == JobStatus.FAILED
    assert "params could not be rendered" in (record.error or "")
    assert queued(idle_redis, "remediator.nonprod") == {}
    assert SECRET not in json.dumps(record.model_dump(mode="json"))
