"""Listing jobs from a large store: the indexed, paged `GET /api/jobs` over real HTTP."""

from __future__ import annotations

import http.client
import json
import statistics
import time
from pathlib import Path
from typing import Any

import redis

from bench.rig import gunicorn
from remediator.issue_log.store import IssueLog
from remediator.jobs import JobStatus, JobStore
from remediator.jobs.store import queue_counts
from remediator.payloads import Subject
from remediator.testing.factories import make_job
from remediator.trends.store import note_tier

STATUSES = (JobStatus.SUCCEEDED,) * 6 + (JobStatus.VERIFIED,) * 2 + (JobStatus.FAILED, JobStatus.DUPLICATE)
"""One job in ten failed: what a listing by status has to find among the rest."""


JOBS_PER_ISSUE = 3
"""Each Sentry issue of the filled store has three jobs."""

CATEGORIES = ("error",) * 6 + ("performance", "cron", "uptime", "metric")


def fill(url: str, n: int) -> float:
    """Store n job records (spread over two tiers and seven rules, three per Sentry issue),
    the issue log of their issues (one in five still open) and seven days of hourly trend
    buckets; returns seconds taken. Issues are noted before their jobs, as the webhook does."""
    client = redis.Redis.from_url(url, decode_responses=True)
    store = JobStore(client)
    started = time.monotonic()
    now = time.time()
    log = IssueLog(client)
    for issue in range(n // JOBS_PER_ISSUE):
        subject = Subject(
            resource="issue",
            action="created" if issue % 5 == 0 else "resolved",
            title=f"OperationalError: pool {issue} exhausted",
            culprit="app.db.pool",
            level="error",
            project=f"project-{issue % 4}",
            issue_category=CATEGORIES[issue % len(CATEGORIES)],
            issue_type="error",
            issue_id=str(100_000 + issue),
            events=issue % 500 + 1,
            users=issue % 40,
        )
        log.seen(subject, at=now - (n - issue * JOBS_PER_ISSUE) * 0.5)
    for first in range(0, n, 1000):
        with store.client.pipeline(transaction=False) as pipe:
            for i in range(first, min(n, first + 1000)):
                job = make_job(
                    status=STATUSES[i % len(STATUSES)],
                    tier=("prod", "nonprod")[i % 2],
                    rule=f"rule-{i % 7}",
                    created_at=now - (n - i) * 0.5,
                    sentry_issue_id=str(100_000 + i // JOBS_PER_ISSUE),
                    sentry_title=f"OperationalError: pool {i // JOBS_PER_ISSUE} exhausted",
                )
                store.queue_create(pipe, job)
            pipe.execute()
    fill_trends(client, now)
    return time.monotonic() - started


def fill_trends(client: redis.Redis, now: float, days: int = 7) -> None:
    """Seven days of hourly buckets as a busy installation fills them: every outcome, seven
    rules with a spread of recovery times, two tiers' peaks, webhooks."""
    with client.pipeline(transaction=False) as pipe:
        for hours_ago in range(days * 24):
            counts = {
                f"jobs:{o}": 20 + hours_ago % 13
                for o in ("succeeded", "failed", "verified", "ineffective", "skipped", "waiting")
            }
            counts |= {f"webhooks:{o}": 50 + hours_ago % 7 for o in ("accepted", "ignored", "refused")}
            for rule in range(7):
                counts[f"rule:rule-{rule}:verified"] = 5 + rule
                counts[f"rule:rule-{rule}:ineffective"] = 1 + rule % 3
                for index in range(10, 30, 2):
                    counts[f"rule:rule-{rule}:recovery:{index}"] = 1 + (index + rule) % 4
            queue_counts(pipe, counts, now - hours_ago * 3600)
        pipe.execute()
    for hours_ago in range(days * 24):
        for tier in ("prod", "nonprod"):
            note_tier(client, tier, hours_ago % 17, float(hours_ago % 90), at=now - hours_ago * 3600)


def timed_gets(port: int, path: str, token: str, count: int, page: bool = False) -> tuple[list[float], Any]:
    """GET path count times on one keep-alive connection; latencies in ms and the last body
    (decoded JSON, or the HTML text of a dashboard page)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    latencies: list[float] = []
    body: Any = None
    for _ in range(count):
        started = time.perf_counter()
        conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        response = conn.getresponse()
        raw = response.read()
        body = raw.decode() if page else json.loads(raw)
        latencies.append((time.perf_counter() - started) * 1000)
        if response.status != 200:
            raise RuntimeError(f"GET {path} answered {response.status}: {body}")
    conn.close()
    return latencies, body


def summary(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "p50_ms": round(statistics.median(ordered), 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2),
    }


def listing(env: dict[str, str], log_dir: Path, n: int, count: int = 300) -> dict[str, Any]:
    """p50/p99 of the newest failed jobs (limit 50), of a cursor's fifth page, and of a
    three-filter listing, with n records stored."""
    took = fill(env["REMEDIATOR_BROKER_URL"], n)
    web, port = gunicorn("web-listing", "remediator.web.app:create_app()", env, log_dir)
    token = env["REMEDIATOR_API_TOKEN"]
    try:
        timed_gets(port, "/api/jobs?status=failed&limit=50", token, 20)  # warm up
        first, page = timed_gets(port, "/api/jobs?status=failed&limit=50", token, count)
        assert len(page["jobs"]) == 50 and all(j["status"] == "failed" for j in page["jobs"])
        cursor = page["next_cursor"]
        for _ in range(3):
            _, deeper = timed_gets(port, f"/api/jobs?status=failed&limit=50&cursor={cursor}", token, 1)
            cursor = deeper["next_cursor"]
        fifth, _ = timed_gets(port, f"/api/jobs?status=failed&limit=50&cursor={cursor}", token, count)
        mixed, body = timed_gets(port, "/api/jobs?status=failed&tier=prod&rule=rule-4&limit=50", token, count)
        assert body["jobs"] and all(
            (j["status"], j["tier"], j["rule"]) == ("failed", "prod", "rule-4") for j in body["jobs"]
        )
        return {
            "records": n,
            "fill_s": round(took, 1),
            "failed_first_page": summary(first),
            "failed_fifth_page": summary(fifth),
            "three_filters": summary(mixed),
            "dashboard": dashboard_pages(env["REMEDIATOR_BROKER_URL"], port, token, count // 3),
        }
    finally:
        web.stop()


DASHBOARD_PAGES = (
    ("jobs", "/jobs"),
    ("jobs_failed_prod", "/jobs?status=failed&tier=prod"),
    ("job", "/jobs/{job}"),
    ("approvals", "/approvals"),
    ("rules", "/rules"),
    ("tiers", "/tiers"),
    ("issues", "/issues"),
    ("issues_open_errors", "/issues?category=error&open=1"),
    ("issues_outcome_failed", "/issues?outcome=failed"),
    ("issues_matching_none", "/issues?project=nowhere"),
    ("issue", "/issues/{issue}"),
    ("infrastructure", "/infrastructure"),
    ("trends_24h", "/trends"),
    ("trends_7d", "/trends?range=7d"),
)
"""The console's pages as an operator opens them (the workers' inspect answer, which waits
for the workers, loads after the tiers page and is not timed)."""


def dashboard_pages(url: str, port: int, token: str, count: int) -> dict[str, dict[str, float]]:
    """p50/p99 of each dashboard page over real HTTP, among the stored records plus 100 jobs
    awaiting approval and 100 held (the approvals page's full lists)."""
    store = JobStore(redis.Redis.from_url(url, decode_responses=True))
    waiting = [make_job(status=JobStatus.AWAITING_APPROVAL, tier="prod", rule="rule-0") for _ in range(100)]
    held = [make_job(status=JobStatus.HELD, rule="rule-1") for _ in range(100)]
    with store.client.pipeline(transaction=False) as pipe:
        for job in waiting + held:
            store.queue_create(pipe, job, event=job.status.value)
        pipe.execute()
    results = {}
    for name, path in DASHBOARD_PAGES:
        path = path.format(job=waiting[0].id, issue=100_000 + 7)
        timed_gets(port, path, token, 5, page=True)  # warm up
        latencies, body = timed_gets(port, path, token, count, page=True)
        if "<html" not in body:
            raise RuntimeError(f"GET {path} did not answer a page: {body[:200]}")
        results[name] = summary(latencies)
    return results
