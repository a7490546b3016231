"""People, roles and who did what: personal tokens kept only as hashes, the one
authorization check (403 naming the role), two-person approval, server-side sessions and
the failed sign-in throttle, through the real web (over HTTP), real workers and the Sentry
stand-in; and the remote CLI through the API."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from remediator.audit.trail import AuditTrail
from remediator.jobs import JobStatus, JobStore, redis_client
from remediator.people import roles
from remediator.people.directory import PEOPLE_KEY, TOKENS_KEY, Directory
from remediator.people.roles import Role
from remediator.settings import ROLE_NAMES
from tests.helpers import (
    STANDIN_TOKEN,
    TOKEN,
    bearer,
    encode,
    payload,
    person,
    remediator_command,
    sentry_headers,
    wait_for,
)
from tests.test_browser import LiveServer
from tests.test_dashboard import csrf

RULES = """
rules:
  - name: restart-cache
    approval: true
    verify: none
    match: {culprit: {contains: cache}}
    job: {script: noop, tier: prod, class: B, namespace: payments}
  - name: failover-db
    approval: {approvers: 2}
    verify: none
    match: {culprit: {contains: database}}
    job: {script: noop, tier: prod, class: A, namespace: orders}
"""


# -- pure ----------------------------------------------------------------------------------


def test_each_role_may_do_what_the_ones_below_it_may_and_a_refusal_names_the_role_needed() -> None:
    assert roles.ROLE_NAMES == ROLE_NAMES
    assert [a for a in roles.NEEDS if roles.allowed(Role.VIEWER, a)] == ["read"]
    assert roles.allowed(Role.OPERATOR, "pause") and not roles.allowed(Role.OPERATOR, "approve")
    assert roles.allowed(Role.APPROVER, "approve") and not roles.allowed(Role.APPROVER, "manage people")
    assert all(roles.allowed(Role.ADMIN, a) for a in roles.NEEDS)
    assert not roles.allowed(None, "read")
    assert roles.refusal("approve", "vic", Role.VIEWER) == "approve needs the approver role; vic is a viewer"
    assert roles.refusal("pause", "ana", Role.ADMIN) == "pause needs the operator role; ana is an admin"
    assert roles.refusal("read", "sso", None) == "read needs the viewer role; sso is given no role"


# -- the directory -----------------------------------------------------------------------------


def test_a_token_is_kept_only_as_its_argon2_hash_and_a_new_one_revokes_the_old(redis_db) -> None:
    directory = Directory(redis_db)
    _, first = directory.add("alice", Role.APPROVER, "tests")
    stored = json.dumps([redis_db.hgetall(PEOPLE_KEY), redis_db.hgetall(TOKENS_KEY)])
    assert first not in stored and first.split("_")[2] not in stored and "$argon2id$" in stored
    found = directory.authenticate(first)
    assert found is not None and (found.name, found.role) == ("alice", Role.APPROVER)
    assert directory.authenticate(first[:-1] + ("A" if first[-1] != "A" else "B")) is None
    second = directory.issue_token("alice")
    assert directory.authenticate(first) is None and directory.authenticate(second) is not None
    [listed] = directory.people()
    assert listed["token_last_used"] is not None and "hash" not in json.dumps(listed)
    directory.disable("alice")
    assert directory.authenticate(second) is None


# -- the real web, the real workers, the stand-in ----------------------------------------------------


@pytest.fixture
def web(make_app, redis_db, workers, standin) -> Any:  # type: ignore[no-untyped-def]
    server = LiveServer(make_app(RULES, sentry_auth_token=STANDIN_TOKEN))
    yield server
    server.close()


def deliver(server: LiveServer, standin: Any, issue_id: str, culprit: str) -> dict[str, Any]:
    standin.add_issue(issue_id, title=f"Trouble {issue_id}", culprit=culprit)
    document = payload("issue_created")
    document["data"]["issue"].update(id=issue_id, culprit=culprit, title=f"Trouble {issue_id}")
    body = encode(document)
    answer = requests.post(f"{server.url}/sentry/webhook", data=body, headers=sentry_headers("issue", body))
    assert answer.status_code == 202, answer.text
    job: dict[str, Any] = answer.json()["jobs"][0]
    return job


def post(server: LiveServer, path: str, token: str, body: dict[str, Any] | None = None) -> requests.Response:
    return requests.post(f"{server.url}{path}", json=body or {}, headers=bearer(token), timeout=10)


def test_a_viewers_approve_is_403_and_changes_nothing_an_approvers_runs_the_job_naming_them(
    web, redis_db, standin
) -> None:
    store = JobStore(redis_db)
    viewer, approver = person(redis_db, "vic", "viewer"), person(redis_db, "april", "approver")
    job = deliver(web, standin, "8101", "app.cache.warm")
    assert job["status"] == "awaiting_approval"
    # a viewer reads, and is refused the approval, with the role it needs
    assert requests.get(f"{web.url}/api/jobs/{job['id']}", headers=bearer(viewer), timeout=5).ok
    refused = post(web, f"/api/jobs/{job['id']}/approve", viewer, {"by": "april"})
    assert refused.status_code == 403
    assert refused.json()["reason"] == "approve needs the approver role; vic is a viewer"
    assert store.get(job["id"]).status is JobStatus.AWAITING_APPROVAL  # type: ignore[union-attr]
    # the approver's approval runs it, and the record, the comment and the audit name them
    answer = post(web, f"/api/jobs/{job['id']}/approve", approver, {"by": "somebody else"})
    assert answer.status_code == 200, answer.text
    done = wait_for(
        lambda: (j := store.get(job["id"])) and j.status is JobStatus.SUCCEEDED and j,
        30,
        0.1,
        "the job to run",
    )
    assert done.approved_by == "april" and done.reason == "approved by april"
    comment = wait_for(
        lambda: next((t for t in standin.comment_texts("8101") if "approved by" in t), None),
        20,
        0.1,
        "the approval's comment",
    )
    assert f"Remediation job {job['id']} approved by april" in comment
    trail = [(e["action"], e["actor"], e["role"], e["outcome"]) for e in AuditTrail(redis_db).entries()]
    assert ("approve", "vic", "viewer", "refused (403)") in trail
    assert ("approve", "april", "approver", "ok") in trail


def test_a_two_person_rule_waits_for_a_second_approver_and_refuses_the_same_person_twice(
    web, redis_db, standin
) -> None:
    store = JobStore(redis_db)
    april, bert = person(redis_db, "april", "approver"), person(redis_db, "bert", "admin")
    job = deliver(web, standin, "8102", "app.database.primary")
    first = post(web, f"/api/jobs/{job['id']}/approve", april)
    assert first.status_code == 200 and first.json()["status"] == "awaiting_approval"
    assert first.json()["approvals"] == ["april"]
    again = post(web, f"/api/jobs/{job['id']}/approve", april)
    assert again.status_code == 409
    assert (
        again.json()["reason"]
        == f"april has already approved job {job['id']}: it needs 2 different approvers"
    )
    page = requests.get(f"{web.url}/api/jobs/{job['id']}", headers=bearer(april), timeout=5).json()
    assert page["status"] == "awaiting_approval" and [e["event"] for e in page["timeline"]][-1] == "approval"
    second = post(web, f"/api/jobs/{job['id']}/approve", bert)
    assert second.status_code == 200 and second.json()["status"] == "queued"
    done = wait_for(
        lambda: (j := store.get(job["id"])) and j.status is JobStatus.SUCCEEDED and j,
        30,
        0.1,
        "the job to run",
    )
    assert done.approved_by == "april, bert" and done.reason == "approved by april and bert"
    wait_for(
        lambda: any("approved by april and bert" in t for t in standin.comment_texts("8102")),
        20,
        0.1,
        "the comment naming both",
    )


def test_two_person_classes_default_production_class_a_jobs_to_two_approvers(
    make_app, idle_redis, idle_broker_url
):
    rules = "rules:\n  - name: a\n    match: {culprit: x}\n    job: {script: noop, tier: prod, class: A}\n"
    client = make_app(rules, broker=idle_broker_url, two_person_classes="A").test_client()
    document = payload("issue_created")
    document["data"]["issue"].update(culprit="x")
    body = encode(document)
    [job] = client.post("/sentry/webhook", data=body, headers=sentry_headers("issue", body)).get_json()[
        "jobs"
    ]
    record = JobStore(redis_client(idle_broker_url)).get(job["id"])
    assert (
        record is not None and record.status is JobStatus.AWAITING_APPROVAL and record.approvers_needed == 2
    )


def test_the_console_hides_what_a_role_cannot_do_and_refuses_it_when_posted_anyway(
    make_app, idle_redis, idle_broker_url
) -> None:
    from tests.test_dashboard import sign_in

    app = make_app(RULES, broker=idle_broker_url)
    client = app.test_client()
    document = payload("issue_created")
    document["data"]["issue"].update(id="8103", culprit="app.cache")
    body = encode(document)
    [job] = client.post("/sentry/webhook", data=body, headers=sentry_headers("issue", body)).get_json()[
        "jobs"
    ]
    form = sign_in(client, "olga", "operator")
    page = client.get("/approvals").get_data(as_text=True)
    assert 'data-action="pause"' in page and 'data-action="approve"' not in page
    assert "Audit</a>" not in page and client.get("/audit").status_code == 403
    refused = client.post(f"/jobs/{job['id']}/approve", data={"csrf_token": form})
    assert (
        refused.status_code == 403
        and "approve needs the approver role; olga is an operator" in refused.get_data(as_text=True)
    )
    assert JobStore(idle_redis).get(job["id"]).status is JobStatus.AWAITING_APPROVAL  # type: ignore[union-attr]
    sign_in(client, "olga", "approver")  # an admin raised her role: it applies at once
    assert 'data-action="approve"' in client.get("/approvals").get_data(as_text=True)


def test_failed_sign_ins_are_throttled_per_address_and_per_person_with_retry_after(
    make_app, idle_redis, idle_broker_url
):
    app = make_app(RULES, broker=idle_broker_url, signin_max_failures=3)
    client = app.test_client()
    real = person(idle_redis, "tess", "viewer")
    forged = real[:-4] + "AAAA"  # tess's token id, a wrong secret
    form = csrf(client.get("/login").get_data(as_text=True))
    for _ in range(3):
        assert client.post("/login", data={"csrf_token": form, "token": forged}).status_code == 401
    stopped = client.post("/login", data={"csrf_token": form, "token": real})
    assert stopped.status_code == 429 and 0 < int(stopped.headers["Retry-After"]) <= 601
    # another address is stopped too when it signs in as tess
    other = app.test_client()
    other_form = csrf(other.get("/login", environ_base={"REMOTE_ADDR": "10.0.0.9"}).get_data(as_text=True))
    again = other.post(
        "/login", data={"csrf_token": other_form, "token": real}, environ_base={"REMOTE_ADDR": "10.0.0.9"}
    )
    assert again.status_code == 429
    failed = [e for e in AuditTrail(idle_redis).entries() if e["action"] == "failed sign-in"]
    assert [e["actor"] for e in failed] == ["tess"] * 5 and failed[-1]["outcome"].startswith(
        "refused: throttled"
    )


def test_a_session_ends_after_its_idle_timeout(make_app, idle_redis, idle_broker_url) -> None:
    from tests.test_dashboard import sign_in

    app = make_app(RULES, broker=idle_broker_url, session_idle_minutes=1 / 60)  # one second
    client = app.test_client()
    sign_in(client, "ida", "viewer")
    [key] = idle_redis.keys("remediator:session:*")
    assert 0 < idle_redis.pttl(key) <= 1000
    wait_for(lambda: not idle_redis.exists(key), 5, 0.05, "the idle session to expire")
    assert client.get("/jobs").status_code == 302


def test_the_remote_cli_acts_as_its_tokens_person_and_the_bootstrap_token_adds_the_first_admin(
    web, redis_db, standin
) -> None:
    env = {"REMEDIATOR_URL": web.url, "REMEDIATOR_TOKEN": TOKEN}
    added = remediator_command("users", "add", "root-ann", "--role", "admin", env=env)
    assert added.returncode == 0, added.stderr
    ann = added.stdout.strip().splitlines()[-1]
    assert ann.startswith("rmd_")
    env["REMEDIATOR_TOKEN"] = ann
    assert remediator_command("users", "add", "vic", "--role", "viewer", env=env).returncode == 0
    listed = json.loads(remediator_command("users", "list", "--json", env=env).stdout)
    assert [(p["name"], p["role"]) for p in listed] == [("root-ann", "admin"), ("vic", "viewer")]
    vic = remediator_command("users", "token", "vic", env=env).stdout.strip().splitlines()[-1]
    refused = remediator_command("pause", "--reason", "x", env=env | {"REMEDIATOR_TOKEN": vic})
    assert refused.returncode != 0 and "pause needs the operator role; vic is a viewer" in refused.stderr
    paused = remediator_command("pause", "--by", "someone-else", "--reason", "freeze", env=env)
    assert paused.returncode == 0, paused.stderr
    assert remediator_command("users", "set-role", "vic", "operator", env=env).returncode == 0
    assert remediator_command("users", "disable", "vic", env=env).returncode == 0
    gone = remediator_command("pause", "--reason", "x", env=env | {"REMEDIATOR_TOKEN": vic})
    assert gone.returncode != 0 and "does not know REMEDIATOR_TOKEN" in gone.stderr
    trail = AuditTrail(redis_db).entries()
    assert ("pause", "root-ann", "admin") in [(e["action"], e["actor"], e["role"]) for e in trail]
    assert ("add person", "bootstrap") in [(e["action"], e["actor"]) for e in trail]
    changes = [(e["action"], e["target"], e.get("new_role")) for e in trail if e["actor"] == "root-ann"]
    assert ("set role", "vic", "operator") in changes and ("disable person", "vic", None) in changes
    assert ("issue token", "vic", None) in changes
    assert ann not in json.dumps(trail) and vic not in json.dumps(trail)
    requests.post(f"{web.url}/api/resume", headers=bearer(ann), timeout=5)


def test_reloading_the_rules_is_an_admins_and_every_new_version_is_audited_once_with_its_sha256(
    make_app, idle_redis, idle_broker_url
) -> None:
    import hashlib

    app = make_app(RULES, broker=idle_broker_url)
    client, live = app.test_client(), app.extensions["remediator"].live
    operator, admin = (
        bearer(person(idle_redis, "olga", "operator")),
        bearer(person(idle_redis, "ana", "admin")),
    )
    assert client.post("/api/rules/reload", headers=operator).status_code == 403
    third = (
        RULES + "  - name: third\n    match: {culprit: z}\n    job: {script: noop, tier: nonprod, class: C}\n"
    )
    live.path.write_text(third)
    answer = client.post("/api/rules/reload", headers=admin)
    assert answer.status_code == 200 and answer.get_json()["reloaded"] is True
    assert answer.get_json()["names"] == ["restart-cache", "failover-db", "third"]
    # the file changes again with nobody asking: the first web process to load it notes it
    fourth = third.replace("name: third", "name: fourth")
    live.path.write_text(fourth)
    assert live.check() is True
    other = make_app(None, broker=idle_broker_url, rules_file=live.path)  # another web process
    assert other.extensions["remediator"].live.version == live.version
    other.extensions["remediator"].live.check()
    reloads = [e for e in AuditTrail(idle_redis).entries() if e["action"] == "reload rules"]
    assert [(e["actor"], e["outcome"]) for e in reloads] == [
        ("olga", "refused (403)"),
        ("ana", "ok"),
        ("rule file", "ok"),
    ]
    assert (
        reloads[1]["sha256"] == hashlib.sha256(third.encode()).hexdigest()
        and reloads[1]["rules"][-1] == "third"
    )
    assert (
        reloads[2]["sha256"] == hashlib.sha256(fourth.encode()).hexdigest()
        and reloads[2]["rules"][-1] == "fourth"
    )


def test_without_a_remote_the_users_commands_act_on_redis_as_the_machines_operator(
    redis_db, broker_url
) -> None:
    from tests.test_audit import cli_env

    env = cli_env(broker_url)
    added = remediator_command("users", "add", "ana", "--role", "approver", "--by", "root", env=env)
    assert added.returncode == 0, added.stderr
    token = added.stdout.strip().splitlines()[-1]
    found = Directory(redis_db).authenticate(token)
    assert found is not None and (found.name, found.role) == ("ana", Role.APPROVER)
    twice = remediator_command("users", "add", "ana", "--role", "viewer", env=env)
    assert twice.returncode != 0 and "ana is already known" in twice.stderr
    bad = remediator_command("users", "add", "bad name!", "--role", "viewer", env=env)
    assert bad.returncode != 0 and "not a usable name" in bad.stderr
    listed = remediator_command("users", "list", env=env).stdout
    assert "ana" in listed and "approver" in listed and token not in listed
    [entry] = [
        e for e in AuditTrail(redis_db).entries() if e["action"] == "add person" and e["outcome"] == "ok"
    ]
    assert (entry["actor"], entry["role"], entry["source"], entry["new_role"]) == (
        "root",
        "local",
        "cli",
        "approver",
    )
    assert token not in json.dumps(AuditTrail(redis_db).entries())
