"""The operator console, server side: sign-in, the cookie, CSRF, every page and every
decision through the real app on the real Redis (the browser tests drive the same pages in
Chromium)."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest

from remediator.jobs import JobStatus, JobStore, controls, redis_client
from remediator.testing.factories import make_job
from tests.helpers import TOKEN, bearer, encode, payload, person, sentry_headers

AUTH = {"Authorization": f"Bearer {TOKEN}"}
HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>"

RULES = """
rules:
  - name: fix
    match: {culprit: {contains: database}}
    job: {script: http-request, tier: nonprod, class: C, params: {url: "http://127.0.0.1:9/fix"}}
  - name: careful
    approval: true
    match: {culprit: {contains: cache}}
    job: {script: noop, tier: prod, class: A}
"""


def issue_body(issue_id: str, culprit: str = "app.database.pool", title: str = "Pool exhausted") -> bytes:
    document = payload("issue_created")
    document["data"]["issue"].update(id=issue_id, culprit=culprit, title=title)
    return encode(document)


def deliver(client, body: bytes) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    response = client.post("/sentry/webhook", data=body, headers=sentry_headers("issue", body))
    assert response.status_code in (200, 201, 202), response.get_data(as_text=True)
    return response.get_json()["jobs"][0]


def csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "no CSRF token on the page"
    return found.group(1)


def sign_in(client, name: str = "alice", role: str = "admin") -> str:  # type: ignore[no-untyped-def]
    """Sign `name` (a person of `role`, made so) in with their own token; returns the CSRF token."""
    secret = person(client.application.extensions["remediator"].store.client, name, role)
    token = csrf(client.get("/login").get_data(as_text=True))
    answer = client.post("/login", data={"csrf_token": token, "token": secret})
    assert answer.status_code == 303, answer.get_data(as_text=True)
    return csrf(client.get("/jobs").get_data(as_text=True))


@pytest.fixture
def app(make_app, idle_redis, idle_broker_url):  # type: ignore[no-untyped-def]
    return make_app(RULES, broker=idle_broker_url)


def test_pages_send_strangers_to_sign_in_and_polls_to_a_full_page_redirect(app) -> None:
    client = app.test_client()
    for path in ("/jobs", "/jobs/abc", "/approvals", "/rules", "/tiers"):
        answer = client.get(path)
        assert answer.status_code == 302 and answer.location.startswith("/login?next=")
    assert client.get("/").location == "/login?next=/"
    poll = client.get("/jobs?since=3", headers={"HX-Request": "true"})
    assert poll.status_code == 401 and poll.headers["HX-Redirect"] == "/login"
    assert client.post("/pause", data={"reason": "x"}).status_code == 302
    assert controls.paused(redis_client(app.extensions["remediator"].settings.broker_url)) is None


def test_sign_in_takes_a_personal_token_names_its_person_and_sets_a_strict_httponly_cookie(app) -> None:
    client = app.test_client()
    secret = person(app.extensions["remediator"].store.client, "alice", "approver")
    token = csrf(client.get("/login").get_data(as_text=True))
    wrong = client.post("/login", data={"csrf_token": token, "token": "guess"})
    assert wrong.status_code == 401 and "not a current token" in wrong.get_data(as_text=True)
    assert client.post("/login", data={"token": secret}).status_code == 400  # no CSRF
    answer = client.post("/login", data={"csrf_token": token, "token": secret, "next": "/rules"})
    assert answer.status_code == 303 and answer.location == "/rules"
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and secret not in cookie and TOKEN not in cookie
    page = client.get("/jobs").get_data(as_text=True)
    assert "alice" in page and "approver" in page and client.get("/").location == "/jobs"
    offsite = client.post(
        "/login", data={"csrf_token": csrf(page), "token": secret, "next": "//evil.example/"}
    )
    assert offsite.location == "/jobs"
    client.post("/logout", data={"csrf_token": csrf(client.get("/jobs").get_data(as_text=True))})
    assert client.get("/jobs").status_code == 302


def test_sign_out_ends_the_session_on_the_server_so_a_copied_cookie_is_dead(app) -> None:
    client = app.test_client()
    sign_in(client, "erin", "viewer")
    copied = client.get_cookie("remediator_session")
    assert copied is not None
    thief = app.test_client()
    thief.set_cookie("remediator_session", copied.value)
    assert thief.get("/jobs").status_code == 200
    client.post("/logout", data={"csrf_token": csrf(client.get("/jobs").get_data(as_text=True))})
    assert thief.get("/jobs").status_code == 302


def test_forms_without_the_sessions_csrf_token_are_refused(app, idle_redis) -> None:
    client = app.test_client()
    sign_in(client)
    for data in ({}, {"csrf_token": "forged"}):
        refused = client.post("/pause", data=data | {"reason": "x"})
        assert refused.status_code == 400 and "CSRF" in refused.get_data(as_text=True)
    assert controls.paused(idle_redis) is None


def test_a_bearer_token_works_without_cookie_or_csrf_and_names_its_person(app, idle_redis) -> None:
    client = app.test_client()
    ci = bearer(person(idle_redis, "ci-bot", "operator"))
    assert client.get("/jobs", headers=ci).status_code == 200
    answer = client.post("/pause", data={"reason": "deploy", "by": "someone-else"}, headers=ci)
    assert answer.status_code == 303
    assert controls.paused(idle_redis) == "paused by ci-bot: deploy"


def test_a_hostile_title_is_shown_as_text_on_every_page(app) -> None:
    client = app.test_client()
    job = deliver(client, issue_body("9001", culprit="app.cache", title=HOSTILE))
    assert job["status"] == "awaiting_approval"
    sign_in(client)
    for path in ("/jobs", f"/jobs/{job['id']}", "/approvals"):
        page = client.get(path)
        text = page.get_data(as_text=True)
        assert "<script>alert(1)" not in text and "<img src=x" not in text, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text, path
        assert "script-src 'self'" in page.headers["Content-Security-Policy"]


def test_jobs_list_shows_the_columns_filters_and_pages(app, idle_broker_url) -> None:
    store = JobStore(redis_client(idle_broker_url))
    now = time.time()
    for n in range(60):
        store.create(
            make_job(
                rule="fix" if n % 2 else "careful",
                tier="nonprod" if n % 2 else "prod",
                created_at=now - 100 + n,
                sentry_issue_id=str(7000 + n),
                sentry_title=f"issue number {n}",
            )
        )
    client = app.test_client()
    sign_in(client)
    first = client.get("/jobs").get_data(as_text=True)
    rows = re.findall(r'data-job="([0-9a-f]+)"', first)
    assert len(rows) == 50 and "issue number 59" in first and "issue number 9<" not in first
    assert '/organizations/acme/issues/7059/"' in first  # the issue's page in Sentry, linked
    older = re.search(r'href="(/jobs\?cursor=[^"]+)"', first)
    assert older
    second = client.get(older.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert len(re.findall(r'data-job="', second)) == 10 and "issue number 0<" in second
    prod = client.get("/jobs?tier=prod").get_data(as_text=True)
    assert 'data-status="queued"' in prod and "issue number 58" in prod and "issue number 59" not in prod
    assert "No job matches" in client.get("/jobs?status=verified").get_data(as_text=True)


def test_an_empty_dashboard_says_how_to_connect_sentry_and_send_a_demo_issue(app) -> None:
    client = app.test_client()
    sign_in(client)
    page = client.get("/jobs").get_data(as_text=True)
    assert "No jobs yet" in page and "/sentry/webhook" in page and "remediator demo send" in page


def test_live_poll_is_empty_until_a_job_event_is_recorded(app) -> None:
    client = app.test_client()
    sign_in(client)
    seen = re.search(r'data-seen="(\d+)"', client.get("/jobs").get_data(as_text=True)).group(1)
    live = {"HX-Request": "true"}
    assert client.get(f"/jobs?since={seen}", headers=live).status_code == 204
    job = deliver(client, issue_body("9100"))
    fragment = client.get(f"/jobs?since={seen}", headers=live)
    assert fragment.status_code == 200 and job["id"] in fragment.get_data(as_text=True)
    assert "<html" not in fragment.get_data(as_text=True)


def test_operator_decisions_from_the_dashboard_record_their_name(app, idle_broker_url, idle_redis) -> None:
    client = app.test_client()
    token = sign_in(client, "bob")
    waiting = deliver(client, issue_body("9200", culprit="app.cache"))
    other = deliver(client, issue_body("9201", culprit="app.cache"))
    approvals = client.get("/approvals").get_data(as_text=True)
    assert waiting["id"] in approvals and "noop" in approvals and "Expires in" in approvals
    approved = client.post(f"/jobs/{waiting['id']}/approve", data={"csrf_token": token, "next": "/approvals"})
    assert approved.status_code == 303 and approved.location == "/approvals"
    client.post(f"/jobs/{other['id']}/reject", data={"csrf_token": token, "reason": "not now"})
    store = JobStore(redis_client(idle_broker_url))
    assert store.get(waiting["id"]).approved_by == "bob"
    rejected = store.get(other["id"])
    assert rejected.status is JobStatus.REJECTED
    assert [e["actor"] for e in rejected.timeline][-1] == "bob"
    again = client.post(f"/jobs/{other['id']}/approve", data={"csrf_token": token}, follow_redirects=True)
    assert "could not approve" in again.get_data(as_text=True)

    client.post("/pause", data={"csrf_token": token, "reason": "incident 42"})
    held = deliver(client, issue_body("9202"))
    assert held["status"] == "held"
    assert "paused by bob: incident 42" in client.get("/jobs").get_data(as_text=True)
    client.post(f"/jobs/{held['id']}/discard", data={"csrf_token": token})
    client.post("/resume", data={"csrf_token": token})
    assert controls.paused(idle_redis) is None
    assert [(s["action"], s["by"]) for s in controls.switch_log(idle_redis)] == [
        ("resumed", "bob"),
        ("paused", "bob"),
    ]
    discarded = store.get(held["id"])
    assert discarded.status is JobStatus.DISCARDED and discarded.timeline[-1]["actor"] == "bob"


def test_job_page_shows_timeline_params_notes_and_related_jobs(app, idle_broker_url) -> None:
    client = app.test_client()
    sign_in(client)
    first = deliver(client, issue_body("9300"))
    store = JobStore(redis_client(idle_broker_url))
    store.add_note(first["id"], "listener", listener="sentry-comments", event="submitted", ok=True, attempt=1)
    second = store.create(make_job(rule="fix", tier="nonprod", sentry_issue_id="9300"))
    page = client.get(f"/jobs/{first['id']}").get_data(as_text=True)
    assert 'data-event="submitted"' in page and "http://127.0.0.1:9/fix" in page
    assert "sentry-comments" in page and "on submitted" in page
    assert f"/jobs/{second.id}" in page
    assert client.get("/jobs/nope").status_code == 404


def test_secret_params_are_filtered_on_the_job_page(app, idle_broker_url) -> None:
    store = JobStore(redis_client(idle_broker_url))
    job = store.create(
        make_job(
            script="http-request", params={"url": "http://x", "headers": {"Authorization": "Bearer s3cr3t"}}
        )
    )
    client = app.test_client()
    sign_in(client)
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "s3cr3t" not in page and "[Filtered]" in page


def test_rules_page_shows_outcomes_and_reenables_a_tripped_rule(app, idle_redis) -> None:
    idle_redis.hset(
        "remediator:breaker:fix", mapping={"consecutive": 3, "disabled_reason": "3 failed in a row"}
    )
    idle_redis.hset("remediator:rule-stats:fix", mapping={"failed": 3, "succeeded": 1})
    client = app.test_client()
    token = sign_in(client, "carol")
    page = client.get("/rules").get_data(as_text=True)
    assert 'data-rule="fix" data-enabled="no"' in page and "3 failed in a row" in page
    assert "4 runs: 1 succeeded, 3 failed" in page and "approval required" in page
    assert "culprit contains “database”" in page  # the match as a person would write it
    client.post("/rules/fix/enable", data={"csrf_token": token})
    assert 'data-rule="fix" data-enabled="yes"' in client.get("/rules").get_data(as_text=True)
    assert controls.breakers(idle_redis, ["fix"])["fix"]["disabled_reason"] is None


def test_tiers_page_sums_every_priority_list_and_reads_the_heartbeat(app, idle_redis) -> None:
    client = app.test_client()
    sign_in(client)
    for n in range(3):
        deliver(client, issue_body(str(9400 + n)))  # nonprod, class C
    idle_redis.set(
        "remediator:heartbeat:nonprod",
        json.dumps({"tier": "nonprod", "worker": "w1@host", "at": time.time() - 5, "problems": []}),
    )
    page = client.get("/tiers").get_data(as_text=True)
    nonprod = page[page.index('data-tier="nonprod"') :]
    assert 'data-depth="3"' in nonprod and "C: 3" in nonprod and "w1@host" in nonprod
    assert "SENTRY_DSN is unset" in nonprod
    assert "3 of 600 runs" in nonprod
    workers = client.get("/tiers/workers", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "No worker answered" in workers or "Could not ask" in workers


def test_a_tier_without_any_heartbeat_yet_is_not_shown_as_missing() -> None:
    from remediator.defaults import PriorityClass
    from remediator.worker.tiers import TierView

    def view(heartbeat: dict[str, Any] | None) -> TierView:
        depths = dict.fromkeys(PriorityClass, 0)
        return TierView("prod", "remediator.prod", "batch-worker-prod", depths, None, heartbeat)

    assert view(None).checkin_status == "none yet"
    assert view({"at": time.time() - 600, "problems": []}).checkin_status == "missing"
    assert view({"at": time.time() - 5, "problems": []}).checkin_status == "ok"
    assert view({"at": time.time() - 5, "problems": ["queue too deep"]}).checkin_status == "error"


def test_the_verification_box_says_what_did_happen(app, idle_broker_url) -> None:
    store = JobStore(redis_client(idle_broker_url))
    at = 1_796_000_000.0
    ineffective = store.create(
        make_job(status=JobStatus.INEFFECTIVE, verification="sentry", verify_after=600, created_at=at),
        event="ineffective",
    )
    failed_build = store.create(make_job(status=JobStatus.FAILED, verification="rebuild", verify_after=600))
    client = app.test_client()
    sign_in(client)
    page = client.get(f"/jobs/{ineffective.id}").get_data(as_text=True)
    assert "ineffective at 2026-11-30 " in page and "the issue kept producing events" in page
    assert "no: the fix did not hold" in page and "yes, once verified" not in page
    page = client.get(f"/jobs/{failed_build.id}").get_data(as_text=True)
    assert "of quiet" not in page and "the fix&#39;s final rebuild passes" in page
    assert "none: the job ended failed, so nothing was verified" in page
    assert "no: the job did not succeed" in page


def test_a_match_reads_as_a_person_would_write_it_and_outcomes_do_not_seem_to_overlap() -> None:
    from remediator.web import present

    match = {
        "resource": ["issue"],
        "title": {"contains": "Build failed"},
        "environment": {"in": ["production", "prod"]},
        "tags": {"monitor.slug": {"equals": "batch"}},
        "new_in_latest_deploy": True,
    }
    assert present.describe_match(match) == (
        "from issue webhooks and title contains “Build failed” and environment is one of “production”, "
        "“prod” and tag monitor.slug is “batch” and began with the latest deploy"
    )
    assert present.describe_match({}) == "every webhook"
    outcomes = {"succeeded": 2, "failed": 1, "verified": 1, "ineffective": 1}
    assert present.outcome_story(outcomes) == "3 runs: 2 succeeded, 1 failed → 1 verified, 1 ineffective"
    assert present.outcome_story({"succeeded": 0, "failed": 0}) == "no runs yet"
