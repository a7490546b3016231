"""The issues remediator has seen: each verified webhook noted on its issue (what Sentry
said last, who resolved it, whether it came back), listed open first without a call to
Sentry, with the jobs run for each and one issue's story across webhooks and jobs."""

from __future__ import annotations

import json
import time
from typing import Any

from remediator.issue_log.model import REMEDIATOR, Issue, changes
from remediator.issue_log.store import NO_JOB, Filters, IssueLog
from remediator.jobs import JobStatus, JobStore, redis_client
from remediator.payloads import parse_webhook, subject_of
from tests.helpers import APP_ID, PAYLOADS, TOKEN, encode, payload, sentry_headers, wait_for

AUTH = {"Authorization": f"Bearer {TOKEN}"}
PERSON = {"type": "user", "id": 42, "name": "Dana Ops"}
OWN_APP = {"type": "application", "id": APP_ID, "name": "remediator"}


def real(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((PAYLOADS / "real" / "webhooks" / f"{name}.json").read_text())
    return document


def subject(resource: str, document: dict[str, Any]) -> Any:
    return subject_of(resource, parse_webhook(resource, document))


# -- pure -----------------------------------------------------------------------------


def test_a_resolution_names_remediator_for_its_own_call_and_the_person_otherwise() -> None:
    resolved = real("ipe_issue_resolved")
    by_person = changes(subject("issue", resolved | {"actor": PERSON}), own_app=False, at=10.0)
    assert (by_person["status"], by_person["resolved_by"]) == ("resolved", "Dana Ops")
    ours = changes(subject("issue", resolved | {"actor": OWN_APP}), own_app=True, at=10.0)
    assert (ours["status"], ours["resolved_by"]) == ("resolved", REMEDIATOR)
    assert ours["title"] == "Error #1: This is a test error!" and ours["project"] == "ipe"
    assert (ours["events"], ours["users"], ours["category"]) == ("1", "1", "error")


def test_an_unresolved_issue_is_regressed_and_an_ignored_one_is_ignored() -> None:
    created = real("ipe_issue_resolved") | {"action": "unresolved"}
    found = changes(subject("issue", created), own_app=False, at=1.0)
    assert found["status"] == "unresolved" and found["regressed"] == "1" and found["resolved_by"] == ""
    issue = Issue.from_fields("1", found)
    assert issue.state == "regressed" and issue.is_open
    ignored = changes(subject("issue", real("ipe_issue_ignored")), own_app=False, at=1.0)
    assert Issue.from_fields("1", ignored).state == "ignored"


def test_an_event_webhook_leaves_the_status_alone_and_never_blanks_what_is_known() -> None:
    found = changes(subject("error", real("docs_error_created")), own_app=False, at=1.0)
    assert "status" not in found and "resolved_by" not in found
    assert found["title"] == "ReferenceError: blooopy is not defined"
    assert "environment" not in found  # the body has none: a known environment stays


# -- against Redis and the web ------------------------------------------------------------


RULES = """
rules:
  - name: reset-pool
    verify: none
    match: {culprit: {contains: database}}
    job: {script: noop, tier: nonprod, class: C, namespace: orders}
"""


def deliver(client: Any, document: dict[str, Any], resource: str = "issue") -> int:
    body = encode(document)
    answer = client.post("/sentry/webhook", data=body, headers=sentry_headers(resource, body))
    return int(answer.status_code)


def issue_body(issue_id: str, culprit: str, action: str = "created", **fields: Any) -> dict[str, Any]:
    document = payload("issue_created") | {"action": action}
    # the issue as Sentry serializes it after the action: a resolved webhook's issue is resolved
    status = {"resolved": "resolved", "ignored": "ignored"}.get(action, "unresolved")
    document["data"]["issue"].update(id=issue_id, culprit=culprit, status=status, **fields)
    return document


def test_every_verified_webhook_is_noted_on_its_issue_and_listed_open_first_with_its_jobs(
    redis_db, make_app, workers, broker_url
) -> None:
    client = make_app(RULES, sentry_app_id=APP_ID).test_client()
    assert deliver(client, issue_body("7001", "app.database.pool", title="OperationalError: pool")) == 202
    assert deliver(client, issue_body("7002", "app.views.home", title="KeyError: 'user'")) == 200  # no rule
    resolved = issue_body("7003", "app.views.cart", action="resolved", title="ZeroDivisionError") | {
        "actor": PERSON
    }
    assert deliver(client, resolved) == 200
    bad = encode(issue_body("7004", "app.database.pool"))
    refused = client.post("/sentry/webhook", data=bad, headers=sentry_headers("issue", bad, secret="wrong"))
    assert refused.status_code == 401

    def settled() -> dict[str, Any] | None:
        doc: dict[str, Any] = client.get("/api/issues", headers=AUTH).get_json()
        first = doc["issues"][0] if doc["issues"] else None
        return doc if first and first["id"] == "7002" and len(doc["issues"]) == 3 else None

    # open issues first (newest first), then the resolved one; the refused webhook noted nothing
    doc = wait_for(settled, timeout=10)
    assert [i["id"] for i in doc["issues"]] == ["7002", "7001", "7003"]
    by_id = {i["id"]: i for i in doc["issues"]}
    assert by_id["7002"]["outcome"] == NO_JOB and by_id["7002"]["jobs"] == []
    assert by_id["7003"]["state"] == "resolved by Dana Ops"
    assert by_id["7001"]["title"] == "OperationalError: pool" and by_id["7001"]["rules"] == ["reset-pool"]
    job_id = by_id["7001"]["jobs"][0]["id"]
    # the job runs on the real worker; the issue's outcome follows it
    wait_for(
        lambda: client.get("/api/issues?outcome=succeeded", headers=AUTH).get_json()["issues"],
        timeout=30,
        what="the issue's job to succeed",
    )

    def listed(query: str) -> list[str]:
        return [i["id"] for i in client.get(f"/api/issues?{query}", headers=AUTH).get_json()["issues"]]

    assert listed("outcome=no+job") == ["7002", "7003"]
    assert listed("open=1") == ["7002", "7001"]
    assert listed("project=nope") == []
    # remediator's own resolution (its API call's echo) is noted too, though nothing acts on it
    ours = issue_body("7001", "app.database.pool", action="resolved") | {"actor": OWN_APP}
    assert deliver(client, ours) == 200
    detail = client.get("/api/issues/7001", headers=AUTH).get_json()
    assert detail["state"] == "resolved by remediator"
    events = [(e["kind"], e["what"]) for e in detail["timeline"]]
    assert events[0] == ("webhook", "issue.created")
    assert [what for kind, what in events if kind == "webhook"] == ["issue.created", "issue.resolved"]
    assert ("job", "submitted") in events and ("job", "succeeded") in events
    assert all(e["job"] == job_id for e in detail["timeline"] if e["kind"] == "job")
    store = JobStore(redis_client(broker_url))
    assert store.get(job_id).status == JobStatus.SUCCEEDED
    assert client.get("/api/issues/9999", headers=AUTH).status_code == 404


def test_a_long_listing_pages_without_repeating_or_losing_an_issue(redis_db) -> None:
    log = IssueLog(redis_db)
    now = time.time()
    for n in range(130):  # pairs of issues share a time: ties page too
        document = issue_body(str(8000 + n), "x", action="resolved" if n % 3 == 0 else "created")
        log.seen(subject("issue", document), at=now - 100 + n // 2)
    seen: list[str] = []
    cursor = None
    while True:
        listing = log.page(Filters(), limit=40, cursor=cursor)
        seen += [i.id for i in listing.issues]
        cursor = listing.next_cursor
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 130
    opened = [i for i in seen if (int(i) - 8000) % 3 != 0]
    assert seen[: len(opened)] == opened  # every open issue before any resolved one
    assert [int(i) for i in opened] == sorted((int(i) for i in opened), reverse=True)  # newest first


def test_an_issues_outcome_follows_its_newest_job_in_the_stores_own_steps(redis_db, broker_url) -> None:
    from remediator.testing.factories import make_job

    log = IssueLog(redis_db)
    log.seen(subject("issue", issue_body("7100", "x")))
    store = JobStore(redis_client(broker_url))
    older = store.create(make_job(sentry_issue_id="7100", created_at=time.time() - 60))
    assert log.get("7100").outcome == "queued"
    newer = store.create(make_job(sentry_issue_id="7100"))
    assert store.claim(newer.id, "worker-1") != "no record"
    assert log.get("7100").outcome == "running"
    # the older job's outcome comes later, but the newest job's status is the issue's
    assert store.transition(older, JobStatus.QUEUED, JobStatus.CANCELLED) is not None
    assert log.get("7100").outcome == "running"
    running = store.get(newer.id)
    assert running is not None
    assert store.transition(running, JobStatus.RUNNING, JobStatus.FAILED) is not None
    assert log.get("7100").outcome == "failed"
    assert [i.id for i in log.page(Filters(outcome="failed")).issues] == ["7100"]
    # a job of an issue the log never saw writes nothing there
    store.create(make_job(sentry_issue_id="7199"))
    assert log.get("7199") is None


def test_a_filter_that_matches_few_stops_at_its_bound_and_says_where_to_search_on(
    redis_db, monkeypatch
) -> None:
    from remediator.issue_log import store as issue_store

    monkeypatch.setattr(issue_store, "SCAN_LIMIT", 300)
    log = IssueLog(redis_db)
    for n in range(700):
        log.seen(subject("issue", issue_body(str(9000 + n), "x")), at=time.time() - 1000 + n)
    first = log.page(Filters(project="nowhere"), limit=50)
    assert first.issues == [] and first.searched >= 300 and first.next_cursor is not None
    last = log.page(Filters(project="nowhere"), limit=50, cursor=first.next_cursor)
    last = (
        log.page(Filters(project="nowhere"), limit=50, cursor=last.next_cursor) if last.next_cursor else last
    )
    assert last.next_cursor is None  # the search reached the end
    assert len(log.page(Filters(), limit=50).issues) == 50  # an unfiltered page is not bounded short
