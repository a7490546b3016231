"""/api/* needs the bearer token; /healthz is open and reports the broker and heartbeats."""

from __future__ import annotations

import time
from typing import Any

import pytest

from remediator.jobs import Job, JobStatus, JobStore, redis_client
from remediator.testing.factories import make_job
from remediator.worker.health import consuming, record_heartbeat, stopped_consuming
from tests.helpers import TOKEN

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def store(broker_url, redis_db) -> JobStore:  # type: ignore[no-untyped-def]
    return JobStore(redis_client(broker_url))


def add(store: JobStore, **fields: object) -> Job:
    values: dict[str, object] = {"rule": "r1", "script": "http-request", "tier": "prod"}
    return store.create(make_job(**(values | {"priority_class": "A"} | fields)))


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer nope"}, {"Authorization": f"Basic {TOKEN}"}, {"Authorization": TOKEN}],
)
def test_api_without_the_right_bearer_token_is_401(make_app, store, headers) -> None:
    client = make_app().test_client()
    assert client.get("/api/jobs", headers=headers).status_code == 401
    assert client.get("/api/jobs/x", headers=headers).status_code == 401


def test_job_is_shown_by_id_and_unknown_id_is_404(make_app, store) -> None:
    job = add(store, params={"url": "http://x"})
    client = make_app().test_client()
    body = client.get(f"/api/jobs/{job.id}", headers=AUTH).get_json()
    assert body["id"] == job.id and body["params"] == {"url": "http://x"}
    assert body["status"] == "queued" and body["attempts"] == 0
    assert client.get("/api/jobs/nope", headers=AUTH).status_code == 404


def test_jobs_list_newest_first_filtered_by_status_tier_and_rule(make_app, store) -> None:
    now = time.time()
    a = add(store, created_at=now - 3)
    b = add(store, created_at=now - 2, tier="nonprod", queue="remediator.nonprod", status=JobStatus.FAILED)
    c = add(store, created_at=now - 1, rule="r2")
    client = make_app().test_client()

    def ids(query: str) -> list[str]:
        return [j["id"] for j in client.get(f"/api/jobs{query}", headers=AUTH).get_json()["jobs"]]

    assert ids("") == [c.id, b.id, a.id]
    assert ids("?status=failed") == [b.id]
    assert ids("?tier=prod") == [c.id, a.id]
    assert ids("?rule=r2") == [c.id]
    assert ids("?limit=1") == [c.id]
    assert client.get("/api/jobs?status=bogus", headers=AUTH).status_code == 400
    assert client.get("/api/jobs?limit=x", headers=AUTH).status_code == 400


@pytest.mark.parametrize("query", ["status=failed", "status=failed&tier=prod&rule=r1", ""])
def test_a_cursor_pages_through_every_match_once_ties_included(make_app, store, query) -> None:
    # Given 7 failed jobs, three of them created in the same instant, among other jobs
    now = time.time()
    stamps = [now - 6, now - 5, now - 4, now - 4, now - 4, now - 2, now - 1]
    failed = [add(store, created_at=t, status=JobStatus.FAILED) for t in stamps]
    others = [add(store, created_at=t, rule="other", status=JobStatus.SUCCEEDED) for t in stamps]
    client = make_app().test_client()
    # When a client pages through with limit 3
    seen: list[dict[str, Any]] = []
    cursor = ""
    for _ in range(10):
        body = client.get(f"/api/jobs?{query}&limit=3&cursor={cursor}", headers=AUTH).get_json()
        seen += body["jobs"]
        if body["next_cursor"] is None:
            break
        cursor = body["next_cursor"]
    # Then it sees every matching job exactly once, newest first
    expected = failed + others if query == "" else failed
    ids = [j["id"] for j in seen]
    assert sorted(ids) == sorted(j.id for j in expected)
    created = [j["created_at"] for j in seen]
    assert created == sorted(created, reverse=True)


def test_a_malformed_cursor_is_a_400(make_app, store) -> None:
    response = make_app().test_client().get("/api/jobs?cursor=yesterday", headers=AUTH)
    assert response.status_code == 400 and "invalid cursor" in response.get_json()["reason"]


def test_healthz_is_open_and_reports_broker_and_tier_heartbeats(make_app, redis_db) -> None:
    record_heartbeat(redis_db, {"tier": "prod", "worker": "prod@host", "at": time.time()})
    response = make_app().test_client().get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["broker"] == "ok"
    assert body["tiers"]["prod"]["worker"] == "prod@host"
    assert body["tiers"]["prod"]["stale"] is False
    assert body["tiers"]["nonprod"] == {"last_heartbeat": None, "ready": False, "consumers": []}


def test_readyz_waits_for_a_worker_consuming_every_tier(make_app, redis_db) -> None:
    # Given the web and the broker up, but no worker consuming yet
    client = make_app().test_client()
    assert client.get("/healthz").status_code == 200  # alive
    assert client.get("/readyz").status_code == 503  # not ready
    # When one tier's worker starts consuming, it is still not ready; when both are, it is
    consuming(redis_db, "prod", "prod@host")
    assert client.get("/readyz").status_code == 503
    consuming(redis_db, "nonprod", "nonprod@host")
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["tiers"]["nonprod"]["consumers"] == ["nonprod@host"]
    # And a worker that stops cleanly takes its tier out again
    stopped_consuming(redis_db, "nonprod", "nonprod@host")
    assert client.get("/readyz").status_code == 503


def test_healthz_is_503_when_the_broker_is_unreachable(make_app) -> None:
    response = make_app(broker="redis://127.0.0.1:1/0").test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["broker"].startswith("unreachable")


def test_heartbeat_sent_to_a_tier_queue_is_answered_by_that_tiers_worker(workers, redis_db) -> None:
    from remediator.defaults import HEARTBEAT_TASK, queue_for
    from remediator.worker.celery_app import celery_app
    from remediator.worker.health import health_report
    from tests.helpers import wait_for

    for tier in ("prod", "nonprod"):
        celery_app.send_task(HEARTBEAT_TASK, args=[tier], queue=queue_for(tier), priority=0)
    _, report = wait_for(
        lambda: (lambda r: r if all("worker" in t for t in r[1]["tiers"].values()) else None)(
            health_report(redis_db, ("prod", "nonprod"))
        ),
        what="heartbeats",
    )
    assert report["tiers"]["prod"]["worker"].startswith("prod-test@")
    assert report["tiers"]["nonprod"]["worker"].startswith("nonprod-test@")


def test_heartbeats_are_judged_against_beat_s_own_interval(make_app, redis_db) -> None:
    # At REMEDIATOR_HEARTBEAT_INTERVAL=300 a heartbeat four minutes old is on time, and it
    # is kept until well after the next one is due (ten intervals).
    record_heartbeat(redis_db, {"tier": "prod", "worker": "prod@host", "at": time.time() - 240}, 300)
    assert redis_db.ttl("remediator:heartbeat:prod") > 2900
    redis_db.zadd("remediator:consumers:prod", {"prod@host": time.time() - 400})
    app = make_app(heartbeat_interval=300).test_client()
    tier = app.get("/healthz").get_json()["tiers"]["prod"]
    assert tier["stale"] is False and tier["ready"] is True  # a consumer seen 400 s ago still counts
    default = make_app().test_client().get("/healthz").get_json()["tiers"]["prod"]
    assert default["stale"] is True and default["ready"] is False  # at 60 s the same beat is late
    from remediator.worker.tiers import tier_views

    (view,) = tier_views(redis_db, ("prod",), {}, 300)
    assert view.checkin_status == "ok" and not view.heartbeat_late
    (late,) = tier_views(redis_db, ("prod",), {})
    assert late.checkin_status == "missing"
