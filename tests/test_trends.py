"""The trends: every outcome counted in its hour's bucket in the record's own transaction,
the tiers' queue peaks kept by their heartbeats, webhooks by outcome, and a range of
buckets read back as the series the console charts."""

from __future__ import annotations

import time
from typing import Any

from remediator.jobs import JobStatus, JobStore, redis_client
from remediator.jobs.keys import hour_of, trend_key
from remediator.lifecycle import EventKind, Lifecycle
from remediator.listeners import build_bus
from remediator.settings import Settings
from remediator.testing.factories import make_job
from remediator.trends import store as trend_store
from remediator.trends.buckets import (
    HOUR,
    RECOVERY_BOUNDS,
    RuleTrend,
    job_counts,
    range_hours,
    recovery_bin,
    trends,
    webhook_outcome,
)
from remediator.web import trends_view
from tests.helpers import TOKEN, encode, payload, sentry_headers, wait_for

NOW = 1_764_900_000.0


# -- pure -----------------------------------------------------------------------------


def test_a_verified_job_counts_its_outcome_its_rule_and_its_recovery_time() -> None:
    job = make_job(rule="restart-cache", created_at=NOW - 300)
    counts = job_counts(EventKind.VERIFIED, job, NOW)
    assert counts == {
        "jobs:verified": 1,
        "rule:restart-cache:verified": 1,
        f"rule:restart-cache:recovery:{recovery_bin(300)}": 1,
    }
    assert job_counts(EventKind.INEFFECTIVE, job, NOW) == {
        "jobs:ineffective": 1,
        "rule:restart-cache:ineffective": 1,
    }


def test_events_that_are_no_outcome_count_nothing_and_waiting_is_one_outcome() -> None:
    job = make_job()
    for kind in (EventKind.SUBMITTED, EventKind.STARTED, EventKind.DUPLICATE, EventKind.CANCELLED):
        assert job_counts(kind, job, NOW) == {}
    assert job_counts(EventKind.AWAITING_APPROVAL, job, NOW) == {"jobs:waiting": 1}
    assert job_counts(EventKind.HELD, job, NOW) == {"jobs:waiting": 1}


def test_recovery_percentiles_read_off_the_bins_are_within_a_quarter_of_the_truth() -> None:
    times = [5 + 7 * n for n in range(200)]  # 5 s to 23 min
    trend = RuleTrend("r")
    for seconds in times:
        index = recovery_bin(seconds)
        trend.recovery_bins[index] = trend.recovery_bins.get(index, 0) + 1
    ordered = sorted(times)
    for quantile in (0.5, 0.95):
        truth = ordered[int(quantile * len(ordered)) - 1]
        found = trend.recovery(quantile)
        assert found is not None and truth <= found <= truth * 1.25 + 1, (quantile, truth, found)
    assert RuleTrend("empty").recovery(0.5) is None
    assert recovery_bin(0.2) == 0 and recovery_bin(10**9) == len(RECOVERY_BOUNDS) - 1


def test_a_range_merges_its_hours_per_series_and_per_rule() -> None:
    hours = range_hours(NOW, 3)
    assert hours == [hour_of(NOW) - 2 * HOUR, hour_of(NOW) - HOUR, hour_of(NOW)]
    buckets = {
        hours[0]: {
            "jobs:verified": "2",
            "rule:a:verified": "2",
            "rule:a:recovery:10": "2",
            "tier:prod:depth": "7",
        },
        hours[2]: {"jobs:failed": "1", "rule:a:ineffective": "1", "webhooks:refused": "3"},
    }
    found = trends(buckets, hours, ("prod", "nonprod"))
    assert found.jobs["verified"] == [2, 0, 0] and found.jobs["failed"] == [0, 0, 1]
    assert found.webhooks["refused"] == [0, 0, 3]
    assert found.depth == {"prod": [7, None, None], "nonprod": [None, None, None]}
    [rule] = found.rules
    assert (rule.rule, rule.verified, rule.ineffective) == ("a", 2, 1)
    assert rule.verified_share == 2 / 3 and rule.recovery(0.5) == RECOVERY_BOUNDS[10]
    # the table lists only hours with something counted, newest first
    assert [hour for hour, _ in trends_view.rows(hours, found.jobs)] == [hours[2], hours[0]]


def test_webhook_answers_count_as_accepted_ignored_or_refused() -> None:
    assert webhook_outcome("accepted", 202) == "accepted"
    assert webhook_outcome("cancelled", 200) == "accepted"
    assert webhook_outcome("ignored", 200) == "ignored"
    assert webhook_outcome("duplicate", 200) == "ignored"
    assert webhook_outcome("error", 401) == "refused"
    assert webhook_outcome("error", 400) == "refused"


# -- against Redis ----------------------------------------------------------------------


def lifecycle(broker_url: str) -> Lifecycle:
    settings = Settings(broker_url=broker_url, sentry_dsn=None, sentry_auth_token=None)
    store = JobStore(redis_client(broker_url))
    return Lifecycle(store, build_bus(settings, store))


def test_an_outcome_is_counted_once_in_the_records_transaction_and_a_refused_move_counts_nothing(
    redis_db, broker_url
) -> None:
    life = lifecycle(broker_url)
    job = life.store.create(
        make_job(rule="reset-pool", status=JobStatus.RUNNING, created_at=time.time() - 90)
    )
    succeeded = life.move(job, JobStatus.RUNNING, JobStatus.SUCCEEDED)
    assert succeeded is not None
    assert life.move(job, JobStatus.RUNNING, JobStatus.SUCCEEDED) is None  # already moved
    assert life.move(succeeded, JobStatus.SUCCEEDED, JobStatus.VERIFIED) is not None
    bucket = redis_db.hgetall(trend_key(hour_of(time.time())))
    assert bucket["jobs:succeeded"] == "1" and bucket["jobs:verified"] == "1"
    assert bucket["rule:reset-pool:verified"] == "1"
    assert bucket[f"rule:reset-pool:recovery:{recovery_bin(90)}"] == "1"
    # kept 35 days from its hour, then gone by itself
    ttl = redis_db.ttl(trend_key(hour_of(time.time())))
    assert 34 * 86400 < ttl <= 35 * 86400


def test_a_tiers_hour_keeps_its_peak_depth_and_oldest_wait_not_the_last_reading(redis_db) -> None:
    base = hour_of(time.time())  # a bucket of an hour past its retention would expire at once
    trend_store.note_tier(redis_db, "prod", 9, 40.0, at=base)
    trend_store.note_tier(redis_db, "prod", 3, None, at=base + 60)
    trend_store.note_tier(redis_db, "prod", 0, 12.0, at=base + 120)
    found = trend_store.last(redis_db, 1, ("prod",), now=base + 180)
    assert found.depth == {"prod": [9]} and found.oldest == {"prod": [40]}


def test_the_trends_api_counts_webhooks_and_a_new_jobs_outcome_through_real_workers(
    redis_db, make_app, workers
) -> None:
    rules = """
rules:
  - name: reset-pool
    verify: none
    match: {culprit: {contains: database}}
    job: {script: noop, tier: nonprod, class: C, namespace: orders}
"""
    client = make_app(rules).test_client()
    document = payload("issue_created")
    document["data"]["issue"].update(id="5001", culprit="app.database.pool")
    body = encode(document)
    assert client.post("/sentry/webhook", data=body, headers=sentry_headers("issue", body)).status_code == 202
    other = payload("issue_created")
    other["data"]["issue"].update(id="5002", culprit="app.views")
    body = encode(other)
    assert client.post("/sentry/webhook", data=body, headers=sentry_headers("issue", body)).status_code == 200
    bad = sentry_headers("issue", body) | {"Sentry-Hook-Signature": "0" * 64}
    assert client.post("/sentry/webhook", data=body, headers=bad).status_code == 401
    auth = {"Authorization": f"Bearer {TOKEN}"}

    def counted() -> dict[str, Any] | None:
        doc = client.get("/api/trends?range=24h", headers=auth).get_json()
        webhooks = sum(doc["totals"]["webhooks"].values())
        return doc if doc["totals"]["jobs"]["succeeded"] == 1 and webhooks == 3 else None

    # the webhooks are added to the bucket a couple of seconds after they arrive, in one write
    doc = wait_for(counted, timeout=30)
    assert doc["totals"]["webhooks"] == {"accepted": 1, "ignored": 1, "refused": 1}
    assert len(doc["hours"]) == 24 and doc["jobs"]["succeeded"][-1] == 1
    assert client.get("/api/trends?range=1y", headers=auth).status_code == 400


def test_webhooks_are_counted_in_the_process_and_added_to_the_bucket_in_one_write(redis_db) -> None:
    counts = trend_store.WebhookCounts(redis_db)
    key = trend_key(hour_of(time.time()))
    for outcome in ("accepted", "accepted", "ignored", "refused", "accepted"):
        counts.add(outcome)
    assert redis_db.hgetall(key) == {}  # nothing written on the webhooks' own path
    added = wait_for(lambda: redis_db.hgetall(key), timeout=10, what="the timer's flush")
    assert added == {"webhooks:accepted": "3", "webhooks:ignored": "1", "webhooks:refused": "1"}
    counts.add("ignored")  # the next one arms a new timer
    wait_for(lambda: redis_db.hget(key, "webhooks:ignored") == "2", timeout=10, what="the second flush")
