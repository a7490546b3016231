"""The operator's day in a real browser: Debian's Chromium driven by Playwright against the
real web app (over HTTP), real Celery workers and the real Redis.

Chromium comes from the system (`apt-get install chromium`; REMEDIATOR_CHROMIUM names
another binary); Playwright never downloads a browser. Without one these tests are skipped
with the reason, except in CI (`CI` set), where they fail. Set REMEDIATOR_SCREENSHOTS_DIR to
save a screenshot of each page there (the README's come from `docs/screenshots`).
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server

from remediator.defaults import HEARTBEAT_TASK, queue_for
from remediator.jobs import JobStatus, JobStore, redis_client
from tests.helpers import (
    APP_ID,
    STANDIN_TOKEN,
    TOKEN,
    HttpTarget,
    encode,
    payload,
    person,
    sentry_headers,
    wait_for,
)

pytestmark = pytest.mark.browser

HOSTILE = "<script>alert(1)</script>"

RULES = """
rules:
  - name: restart-cache
    description: Restart the cache client when it times out (asks a person first)
    approval: true
    verify: none
    match: {culprit: {contains: cache}}
    job: {script: noop, tier: prod, class: A, namespace: payments}
  - name: reset-pool
    description: Reset the database pool
    verify: none
    breaker_after: 2
    match: {culprit: {contains: database}}
    job: {script: noop, tier: nonprod, class: C, namespace: orders}
"""


def chromium_path() -> str | None:
    given = os.environ.get("REMEDIATOR_CHROMIUM")
    if given:
        return given
    return next(filter(None, (shutil.which(n) for n in ("chromium", "chromium-browser"))), None)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = chromium_path()
    why = None
    if executable is None:
        why = "Debian's chromium is not installed (apt-get install chromium, or set REMEDIATOR_CHROMIUM)"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        why = "playwright is not installed (pip install -e '.[test]')"
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests cannot run in CI: {why}")
        pytest.skip(f"browser tests NOT RUN: {why}")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable,
            args=[
                "--disable-gpu",
                "--disable-quic",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield launched
        launched.close()


class LiveServer:
    """The app served over real HTTP on a free port, in a thread."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def deliver(self, issue_id: str, culprit: str, title: str) -> dict[str, Any]:
        document = payload("issue_created")
        document["data"]["issue"].update(id=issue_id, culprit=culprit, title=title)
        body = encode(document)
        answer = requests.post(f"{self.url}/sentry/webhook", data=body, headers=sentry_headers("issue", body))
        assert answer.status_code in (200, 201, 202), answer.text
        job: dict[str, Any] = answer.json()["jobs"][0]
        return job

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def live(make_app, redis_db, workers) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    server = LiveServer(make_app(RULES))
    yield server
    server.close()


PANE_RULES = """
rules:
  - name: heal-db
    description: Reset the database pool, then watch the issue go quiet
    verify_after: 1
    match: {culprit: {contains: database}}
    job: {script: noop, tier: nonprod, class: C, namespace: orders}
  - name: restart-cache
    approval: true
    verify: none
    match: {culprit: {contains: cache}}
    job: {script: noop, tier: prod, class: A, namespace: payments}
"""


@pytest.fixture
def pane(make_app, redis_db, workers, standin) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    """A console whose jobs are verified against the Sentry stand-in (the single pane's pages)."""
    server = LiveServer(make_app(PANE_RULES, sentry_auth_token=STANDIN_TOKEN, sentry_app_id=APP_ID))
    yield server
    server.close()


def signed_in(browser: Any, server: LiveServer, viewport: dict[str, int] | None = None) -> Any:
    context = browser.new_context(viewport=viewport or {"width": 1360, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    tab.dialogs = []  # a script that ran would open one
    tab.on("dialog", lambda dialog: (tab.dialogs.append(dialog.message), dialog.dismiss()))
    tab.goto(f"{server.url}/")
    tab.fill("input[name=token]", person(server.app.extensions["remediator"].store.client, "alice", "admin"))
    tab.click("button[type=submit]")
    tab.wait_for_url("**/jobs")
    return tab


@pytest.fixture
def page(browser, live) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    tab = signed_in(browser, live)
    yield tab
    tab.context.close()


@pytest.fixture
def pane_page(browser, pane) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    tab = signed_in(browser, pane)
    yield tab
    tab.context.close()


def screenshot(tab: Any, name: str) -> None:
    folder = os.environ.get("REMEDIATOR_SCREENSHOTS_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def row(tab: Any, job_id: str) -> Any:
    return tab.locator(f'tr[data-job="{job_id}"]')


def test_sign_in_lands_on_the_live_jobs_list_with_its_empty_state(page, live) -> None:
    assert page.get_by_text("No jobs yet").is_visible()
    assert page.locator(".who").inner_text().split() == ["alice", "admin"]
    screenshot(page, "empty")


def test_a_job_appears_live_then_is_approved_and_runs_to_succeeded(page, live) -> None:
    job = live.deliver("8101", "app.cache.client", "TimeoutError: cache read timed out")
    # No reload: the row arrives through the poll.
    row(page, job["id"]).wait_for()
    assert row(page, job["id"]).get_attribute("data-status") == "awaiting_approval"
    page.click("nav >> text=Approvals")
    page.locator(f'tr[data-job="{job["id"]}"] button[data-action="approve"]').wait_for()
    screenshot(page, "approvals")
    page.click(f'tr[data-job="{job["id"]}"] button[data-action="approve"]')
    page.get_by_text("approved by alice").wait_for()
    page.goto(f"{live.url}/jobs/{job['id']}")
    # The detail page follows the job through the worker without a reload.
    page.locator('#job[data-status="succeeded"]').wait_for(timeout=30_000)
    timeline = page.locator("table.timeline").inner_text()
    for event in ("awaiting_approval", "approved", "started", "succeeded"):
        assert event in timeline
    assert "alice" in timeline
    screenshot(page, "job")


def test_another_job_is_rejected_with_a_reason(page, live, broker_url) -> None:
    job = live.deliver("8102", "app.cache.client", "TimeoutError: cache write timed out")
    page.goto(f"{live.url}/approvals")
    form = page.locator(f'tr[data-job="{job["id"]}"] form:has(button[data-action="reject"])')
    form.locator("input[name=reason]").fill("cache is being migrated")
    form.locator("button").click()
    page.get_by_text("rejected by alice").wait_for()
    rejected = JobStore(redis_client(broker_url)).get(job["id"])
    assert rejected.status is JobStatus.REJECTED and rejected.timeline[-1]["actor"] == "alice"


def test_pause_holds_new_matches_and_resume_lets_them_through(page, live, broker_url) -> None:
    page.goto(f"{live.url}/approvals")
    page.fill("#pause input[name=reason]", "incident 42")
    page.click('button[data-action="pause"]')
    page.get_by_text("paused by alice: incident 42").first.wait_for()
    held = live.deliver("8103", "app.database.pool", "OperationalError: too many connections")
    assert held["status"] == "held"
    page.locator(f'tr[data-job="{held["id"]}"]').wait_for()  # live, on the approvals page
    page.click(f'tr[data-job="{held["id"]}"] button[data-action="release"]')
    page.get_by_text("released by alice").wait_for()
    page.click('button[data-action="resume"]')
    page.get_by_text("remediation resumed by alice").wait_for()
    store = JobStore(redis_client(broker_url))
    wait_for(lambda: store.get(held["id"]).status is JobStatus.SUCCEEDED, 30, 0.2, "released job ran")
    after = live.deliver("8104", "app.database.pool", "OperationalError: too many connections")
    assert after["status"] == "queued"


def test_a_tripped_rule_is_reenabled_from_the_rules_page(page, live, redis_db) -> None:
    redis_db.hset(
        "remediator:breaker:reset-pool",
        mapping={"consecutive": 2, "disabled_reason": "2 failed or ineffective jobs in a row"},
    )
    page.goto(f"{live.url}/rules")
    assert page.locator('tr[data-rule="reset-pool"]').get_attribute("data-enabled") == "no"
    screenshot(page, "rules")
    page.click('tr[data-rule="reset-pool"] button[data-action="enable"]')
    page.get_by_text("rule reset-pool re-enabled by alice").wait_for()
    assert page.locator('tr[data-rule="reset-pool"]').get_attribute("data-enabled") == "yes"


def test_a_hostile_title_shows_as_text_and_never_runs(page, live) -> None:
    job = live.deliver("8105", "app.database.pool", HOSTILE)
    row(page, job["id"]).wait_for()
    assert row(page, job["id"]).locator(".title").inner_text() == HOSTILE
    page.goto(f"{live.url}/jobs/{job['id']}")
    assert page.locator("h1 .title").inner_text() == HOSTILE
    page.wait_for_load_state("load")  # every script the page has has run
    assert page.dialogs == []
    assert page.evaluate("document.querySelectorAll('main script').length") == 0


def test_tiers_show_depth_heartbeat_and_the_workers_that_answer(page, live) -> None:
    celery = live.app.extensions["remediator"].celery
    for tier in ("prod", "nonprod"):  # what beat sends every minute, answered by the real workers
        celery.send_task(HEARTBEAT_TASK, args=[tier], queue=queue_for(tier), priority=0)
    page.goto(f"{live.url}/tiers")
    page.locator('#workers tr[data-worker^="prod-test"]').wait_for()
    assert "remediator.prod" in page.locator("#workers").inner_text()
    # The tier cards poll: the heartbeat's answer shows up without a reload.
    page.locator('section[data-tier="prod"] >> text=ago by prod-test').wait_for()
    page.locator('section[data-tier="nonprod"] >> text=ago by nonprod-test').wait_for()
    screenshot(page, "tiers")


def test_pages_fit_a_phone(browser, live) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    tab = context.new_page()
    live.deliver("8106", "app.database.pool", "OperationalError: too many connections")
    tab.goto(f"{live.url}/login")
    tab.fill("input[name=token]", TOKEN)  # the bootstrap token signs in too
    tab.click("button[type=submit]")
    tab.wait_for_url("**/jobs")
    tab.locator("tr[data-job]").first.wait_for()
    # The page never scrolls sideways, nor does the jobs list: each job is a card.
    assert tab.evaluate("document.documentElement.scrollWidth") <= 390
    assert tab.evaluate("getComputedStyle(document.querySelector('tr[data-job]')).display") == "block"
    assert tab.evaluate("(s => s.scrollWidth <= s.clientWidth)(document.querySelector('.scroll'))")
    # The navigation is one line (it scrolls by itself), not a tall block.
    assert tab.evaluate("document.querySelector('.top nav').getBoundingClientRect().height") < 40
    screenshot(tab, "jobs-phone")
    # nor does any page of the single pane
    for path in ("/issues", "/trends", "/infrastructure", "/issues/8106"):
        tab.goto(f"{live.url}{path}")
        tab.wait_for_load_state("networkidle")
        assert tab.evaluate("document.documentElement.scrollWidth") <= 390, path
    context.close()


def test_jobs_list_screenshot_with_a_few_jobs(page, live) -> None:
    for n, (culprit, title) in enumerate(
        [
            ("app.database.pool", "OperationalError: too many connections"),
            ("app.cache.client", "TimeoutError: cache read timed out"),
            ("app.database.pool", "OperationalError: connection reset by peer"),
        ]
    ):
        job = live.deliver(str(8200 + n), culprit, title)
    row(page, job["id"]).wait_for()
    table = page.locator("table").first.inner_text()
    assert "OperationalError: too many connections" in table and "TimeoutError: cache read timed out" in table
    assert page.locator("tr[data-job]").count() >= 3
    screenshot(page, "jobs")


def test_each_trend_chart_draws_after_a_few_jobs_and_its_table_matches_the_api(
    pane_page, pane, standin, broker_url
) -> None:
    page = pane_page
    store = JobStore(redis_client(broker_url))
    for n in range(3):
        standin.add_issue(f"830{n}", title=f"OperationalError {n}", culprit="app.database.pool")
        pane.deliver(f"830{n}", "app.database.pool", f"OperationalError {n}")
    pane.deliver("8310", "app.cache.client", "TimeoutError: cache read timed out")  # waits for approval
    celery = pane.app.extensions["remediator"].celery
    for tier in ("prod", "nonprod"):  # beat's heartbeat: the tiers' queue readings
        celery.send_task(HEARTBEAT_TASK, args=[tier], queue=queue_for(tier), priority=0)
    auth = {"Authorization": f"Bearer {TOKEN}"}

    def settled() -> dict[str, Any] | None:
        doc: dict[str, Any] = requests.get(f"{pane.url}/api/trends", headers=auth, timeout=5).json()
        readings = all(any(v is not None for v in doc["queue_depth"][t]) for t in ("prod", "nonprod"))
        webhooks = doc["totals"]["webhooks"]["accepted"] == 4  # added every couple of seconds
        return doc if doc["totals"]["jobs"]["verified"] == 3 and readings and webhooks else None

    doc = wait_for(settled, timeout=40, what="three verified jobs and both tiers' readings")
    assert store.page(status=JobStatus.VERIFIED.value).jobs
    page.goto(f"{pane.url}/trends")
    for chart in ("jobs", "depth", "oldest", "webhooks"):
        figure = page.locator(f'figure[data-chart="{chart}"]')
        figure.locator("canvas").wait_for()
        assert int(figure.get_attribute("data-drawn")) >= 2, chart  # uPlot drew its series
    # each table holds the API's figures: this hour's row, cell by cell, under its heading
    hour = doc["hours"][-1]
    for table, key in (("jobs", "jobs"), ("webhooks", "webhooks"), ("depth", "queue_depth")):
        heads = page.locator(f'table[data-table="{table}"] thead th').all_text_contents()[1:]
        cells = page.locator(f'table[data-table="{table}"] tr[data-hour="{hour}"] td').all_text_contents()
        assert dict(zip(heads, cells, strict=True)) == {n: str(v[-1]) for n, v in doc[key].items()}, table
    assert doc["jobs"]["verified"][-1] == 3 and doc["jobs"]["waiting"][-1] == 1
    # the per-rule bars are drawn on the server, with their tables
    [heal] = [r for r in doc["rules"] if r["rule"] == "heal-db"]
    share = page.locator('table[data-table="share"] tr[data-rule="heal-db"] td').all_text_contents()
    assert share == ["3", "0", "100 %"]
    p95 = page.locator('table[data-table="recovery"] tr[data-rule="heal-db"] td').nth(2)
    assert float(p95.get_attribute("data-seconds")) == heal["recovery_p95_seconds"]
    assert page.locator("ul.bars svg rect.p50").count() == 1
    assert page.dialogs == []
    screenshot(page, "trends")


def test_the_issues_page_lists_a_new_issue_within_seconds_and_shows_its_jobs(
    pane_page, pane, standin
) -> None:
    page = pane_page
    page.goto(f"{pane.url}/issues")
    page.locator("text=No issues yet").wait_for()
    standin.add_issue("8401", title="OperationalError: pool exhausted", culprit="app.database.pool")
    job = pane.deliver("8401", "app.database.pool", "OperationalError: pool exhausted")
    other = pane.deliver("8402", "app.cache.client", "TimeoutError: cache read timed out")
    # no reload: the list polls and the new issues appear, each with its job
    row = page.locator('tr[data-issue="8401"]')
    row.wait_for(timeout=5_000)
    assert "OperationalError: pool exhausted" in row.inner_text()
    row.locator(f'a[data-job="{job["id"]}"]').wait_for()
    page.locator(f'tr[data-issue="8402"] a[data-job="{other["id"]}"] >> text=awaiting_approval').wait_for()
    # the fix is verified; the verification resolved the issue in Sentry, whose webhook about
    # it (caused by remediator's own call) makes the row say who resolved it, live
    page.locator('tr[data-issue="8401"] a[data-job] >> text=verified').wait_for(timeout=30_000)
    assert standin.issues["8401"]["status"] == "resolved"
    echo = standin.issue_webhook("8401", "resolved") | {
        "actor": {"type": "application", "id": APP_ID, "name": "remediator"}
    }
    body = encode(echo)
    answer = requests.post(f"{pane.url}/sentry/webhook", data=body, headers=sentry_headers("issue", body))
    assert answer.json()["status"] == "ignored"  # nothing to do about it, but noted on the issue
    page.locator('tr[data-issue="8401"][data-state="resolved by remediator"]').wait_for()
    assert page.locator('tr[data-issue="8401"] td[data-label="Recovery"]').inner_text() != "—"
    screenshot(page, "issues")
    page.click('tr[data-issue="8401"] a.title')
    page.wait_for_url("**/issues/8401")
    timeline = page.locator("ol.timeline")
    timeline.locator("text=issue.created").wait_for()
    for event in ("submitted", "started", "succeeded", "verified"):
        timeline.locator(f"li[data-kind=job] >> text={event}").first.wait_for()
    assert page.locator("li[data-job] >> text=heal-db").count() == 1
    screenshot(page, "issue")


def test_the_infrastructure_page_shows_redis_and_a_probed_target_going_from_up_to_down(
    browser, make_app, redis_db, workers, standin
) -> None:
    target = HttpTarget()
    rules = f"""
rules:
  - name: restart-api
    match: {{culprit: {{contains: api}}}}
    job: {{script: restart-service, tier: nonprod, class: C, namespace: web,
          params: {{url: "{target.url}/restart", health_url: "{target.url}/health"}}}}
"""
    server = LiveServer(make_app(rules, sentry_auth_token=STANDIN_TOKEN))
    page = signed_in(browser, server)
    celery = server.app.extensions["remediator"].celery
    for tier in ("prod", "nonprod"):  # beat's heartbeats: each tier's worker checks in to Sentry
        celery.send_task(HEARTBEAT_TASK, args=[tier], queue=queue_for(tier), priority=0)

    def checked_in() -> bool:
        ok = {c.get("monitor_slug") for c in standin.check_ins() if c.get("status") == "ok"}
        return {"batch-worker-prod", "batch-worker-nonprod"} <= ok

    wait_for(checked_in, 20, 0.1, "both tiers' check-ins")
    try:
        page.goto(f"{server.url}/infrastructure")
        assert page.locator("#broker dd[data-role]").get_attribute("data-role") == "master"
        assert int(page.locator("#broker dd[data-memory]").get_attribute("data-memory")) > 0
        assert "MiB" in page.locator("#broker dd[data-memory]").inner_text()
        row = page.locator(f'tr[data-target="{target.url}/health"]')
        page.locator(f'tr[data-target="{target.url}/health"][data-up="yes"]').wait_for()
        assert "200" in row.inner_text()
        page.locator('#sentry-side dl[data-sentry="reachable"]').wait_for()
        for tier in ("prod", "nonprod"):  # as Sentry reports the tiers' cron monitors
            page.locator(f'dd[data-monitor="batch-worker-{tier}"] span[data-status="ok"]').wait_for()
        screenshot(page, "infrastructure")
        target.close()  # the service goes away; the next load probes it again
        page.reload()
        page.locator(f'tr[data-target="{target.url}/health"][data-up="no"]').wait_for()
        assert "50 % up of 2" in row.inner_text()
        assert page.dialogs == []
    finally:
        page.context.close()
        server.close()


def test_the_rules_page_lists_the_last_suggestions_and_copies_one_as_yaml(
    page, live, standin, tmp_path, broker_url
) -> None:
    from tests.test_backtest import backtest
    from tests.test_rules_suggest import add_group

    add_group(standin, 40_000, 6, "app.orders.sync in push", "TimeoutError: order {n} sync timed out", "api")
    rules = tmp_path / "suggest-rules.yaml"
    rules.write_text(RULES)
    done = backtest(["suggest", "--since", "14d", "--json"], standin, rules, broker_url)
    assert done.returncode == 0, done.stderr
    [proposal] = json.loads(done.stdout)["suggestions"]
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(f"{live.url}/rules")
    card = page.locator(f'article[data-suggestion="{proposal["name"]}"]')
    assert "6 issues; its replay matched those 6 and no other" in card.inner_text()
    card.locator("button[data-copy]").click()
    card.locator("button[data-copy] >> text=Copied").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == proposal["yaml"]
    screenshot(page, "rules-suggestions")
