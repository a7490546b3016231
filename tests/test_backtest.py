"""`remediator rules backtest` and `rules diff`: a history replayed through the rules and the
gate in simulation — against the Sentry stand-in seeded with hundreds of issues over days,
and against saved payloads — and the proof that the simulation decides as the live gate."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import redis

from remediator.backtest import Delivery, simulate
from remediator.jobs import JobStatus
from remediator.jobs.keys import once_key
from remediator.payloads import parse_webhook, subject_of
from remediator.rules import load_rules, plan
from remediator.testing import SentryStandIn
from remediator.testing.factories import make_dispatcher
from remediator.testing.sentry_standin import iso
from tests.helpers import STANDIN_TOKEN, clean, payload, remediator_command

DAY = 86400.0

BACKTEST_RULES = """
version: 1
rules:
  - name: db-pool
    approval: false
    key: "{{ project }}"
    once_within: 1h
    match: {culprit: {contains: db.pool}}
    job: {script: noop, tier: nonprod, class: B}
  - name: payments
    match: {culprit: {contains: payments}}
    job: {script: noop, tier: prod, class: A}
  - name: search-dry
    dry_run: true
    match: {culprit: {contains: search}}
    job: {script: noop, tier: nonprod, class: C}
  - name: cache
    approval: false
    max_runs: 5 per 1d
    match: {culprit: {contains: cache}}
    job: {script: noop, tier: nonprod, class: C}
"""


PROJECT_IDS = {"shop": "11", "web": "12", "api": "13"}


def seed(standin: SentryStandIn, now: float) -> dict[str, Any]:
    """300 issues over 13 days in three projects, laid out so each rule's outcome is known
    without running the gate; returns those expectations."""
    issue_id = 10_000

    def add(at: float, culprit: str, project: str, count: int) -> None:
        nonlocal issue_id
        issue_id += 1
        standin.add_issue(
            str(issue_id),
            title=f"{culprit} failed",
            culprit=culprit,
            firstSeen=iso(at),
            lastSeen=iso(at + 60),
            count=str(count - 1),  # its one event makes it `count`
            project={"id": PROJECT_IDS[project], "slug": project, "name": project},
        )

    start = now - 13 * DAY
    db_times = [start + i * 1500 for i in range(120)]  # every 25 minutes
    for at in db_times:
        add(at, "app.db.pool in acquire", "shop", 3)
    for i in range(50):
        add(start + DAY + i * 60, "payments.charge", "shop", 2)
    for i in range(30):
        add(start + 2 * DAY + i * 60, "search.index", "web", 1)
    for block in range(6):  # ten an hour apart, every other day
        for i in range(10):
            add(start + (3 + 2 * block) * DAY + i * 3600, "cache.get", "api", 5)
    for i in range(40):
        add(start + 4 * DAY + i * 60, "ui.render", "web", i + 1)
    # once_within 1h on one key: a run, then nothing until an hour after that run
    runs, last = 0, float("-inf")
    for at in db_times:
        if at - last >= 3600:
            runs, last = runs + 1, at
    return {"db_runs": runs}


def backtest(
    args: list[str], standin: SentryStandIn, rules: Path, broker_url: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REMEDIATOR_", "SENTRY_"))}
    env |= {
        "REMEDIATOR_SENTRY_API_URL": standin.api_url,
        "REMEDIATOR_SENTRY_AUTH_TOKEN": STANDIN_TOKEN,
        "REMEDIATOR_SENTRY_ORG": "acme",
        "REMEDIATOR_RULES_FILE": str(rules),
        "REMEDIATOR_BROKER_URL": broker_url,
    }
    return remediator_command("rules", *args, env=env, timeout=120)


def test_backtest_against_sentry_says_per_rule_what_would_have_happened_and_touches_no_redis(
    standin: SentryStandIn, tmp_path: Path, broker_url: str
) -> None:
    expected = seed(standin, time.time())
    rules = tmp_path / "rules.yaml"
    rules.write_text(BACKTEST_RULES)
    live = redis.Redis.from_url(broker_url)
    clean(live)
    before = set(live.scan_iter("remediator*"))

    done = backtest(["backtest", "--since", "14d", "--json"], standin, rules, broker_url)

    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert "page 3, 300 issues" in done.stderr  # three pages of 100, with progress
    assert report["deliveries"] == 300
    db, pay, dry, cache = (report["rules"][n] for n in ("db-pool", "payments", "search-dry", "cache"))
    assert db["matches"] == 120 and db["would_run"] == expected["db_runs"]
    assert db["throttled"] == 120 - expected["db_runs"]
    assert pay["matches"] == 50 and pay["would_wait_for_approval"] == 50 and pay["would_run"] == 0
    assert dry["matches"] == 30 and dry["dry_run"] == 30
    assert cache["matches"] == 60 and cache["would_run"] == 30 and cache["throttled"] == 30
    assert report["unmatched"] == 40
    largest = report["unmatched_largest"]
    assert [i["events"] for i in largest[:3]] == [40, 39, 38] and len(largest) == 20
    assert cache["issues"][0]["events"] == 5 and len(cache["issues"]) == 10
    # Nothing was queued or recorded in the live Redis.
    assert set(live.scan_iter("remediator*")) == before

    text = backtest(["backtest", "--since", "14d", "--project", "web"], standin, rules, broker_url)
    assert text.returncode == 0, text.stderr
    assert "70 deliveries replayed" in text.stdout
    assert "No rule matched 40 of them; the largest:" in text.stdout
    assert "      40 events  issue" in text.stdout and "ui.render failed" in text.stdout


def test_rules_diff_names_the_issues_a_change_would_handle_differently(
    standin: SentryStandIn, tmp_path: Path, broker_url: str
) -> None:
    seed(standin, time.time())
    old, new = tmp_path / "old.yaml", tmp_path / "new.yaml"
    old.write_text(BACKTEST_RULES)
    new.write_text(BACKTEST_RULES.replace("max_runs: 5 per 1d", "max_runs: 8 per 1d"))

    done = backtest(["diff", str(old), str(new), "--since", "14d", "--json"], standin, old, broker_url)

    assert done.returncode == 0, done.stderr
    diff = json.loads(done.stdout)
    assert diff["deliveries"] == 300 and diff["changed"] == 18  # three more runs in each of six blocks
    assert {tuple(c["before"]) for c in diff["changes"]} == {("cache: throttled",)}
    assert {tuple(c["after"]) for c in diff["changes"]} == {("cache: would_run",)}


def test_backtest_replays_saved_payloads_in_time_order(tmp_path: Path, broker_url: str, standin) -> None:
    saved = tmp_path / "payloads"
    saved.mkdir()
    for n, culprit in enumerate(["app.db.pool", "app.db.pool", "payments.charge", "nothing.here"]):
        body = payload("issue_created")
        body["data"]["issue"].update(
            id=str(900 + n), culprit=culprit, firstSeen=iso(time.time() - 3600 + n * 60)
        )
        (saved / f"issue-{n}.json").write_text(json.dumps(body))
    (saved / "alert.json").write_text(json.dumps(payload("event_alert_triggered")))
    (saved / "comment.json").write_text(json.dumps(payload("comment_created")))  # skipped
    (saved / "installation.json").write_text(json.dumps(payload("installation_created")))  # skipped
    (saved / "seer.json").write_text(json.dumps(payload("docs_seer_root_cause_started")))  # skipped
    rules = tmp_path / "rules.yaml"
    rules.write_text(BACKTEST_RULES)

    done = backtest(
        ["backtest", "--payloads", str(saved), "--since", "2h", "--json"], standin, rules, broker_url
    )

    assert done.returncode == 0, done.stderr
    assert "(3 skipped, not acted on: 1 comment, 1 installation, 1 seer)" in done.stderr
    report = json.loads(done.stdout)
    db = report["rules"]["db-pool"]
    assert db["matches"] == 2 and db["would_run"] == 1 and db["throttled"] == 1
    assert report["rules"]["payments"]["would_wait_for_approval"] == 1
    assert report["unmatched"] == 1  # the alert's event is more than two hours old: out of the window

    broken = saved / "broken.json"
    broken.write_text('{"data": {"widget": {}, "gadget": 1}}')
    refused = backtest(["backtest", "--payloads", str(saved)], standin, rules, broker_url)
    assert refused.returncode == 1 and "broken.json: cannot tell the resource" in refused.stderr


LIVE_RULES = """
version: 1
rules:
  - name: once
    approval: false
    key: "{{ project }}"
    once_within: 2s
    match: {culprit: {contains: once}}
    job: {script: noop, tier: nonprod, class: B}
  - name: capped
    approval: false
    max_runs: 2 per 1h
    match: {culprit: {contains: capped}}
    job: {script: noop, tier: nonprod, class: C}
  - name: pending
    approval: false
    key: "{{ culprit }}"
    match: {culprit: {contains: pending}}
    job: {script: noop, tier: nonprod, class: C}
  - name: person
    match: {culprit: {contains: person}}
    job: {script: noop, tier: prod, class: A}
  - name: dry
    dry_run: true
    match: {culprit: {contains: dry}}
    job: {script: noop, tier: nonprod, class: D}
  - name: tier
    approval: false
    match: {culprit: {contains: tier}}
    job: {script: noop, tier: prod, class: B}
"""


def test_the_simulation_decides_as_the_live_gate_on_the_same_sequence(
    tmp_path: Path, private_broker_url: str
) -> None:
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(LIVE_RULES)
    ruleset = load_rules(rules_file)
    caps = {"prod": (3, 3600.0), "nonprod": (1000, 3600.0)}
    sequence = [
        ("1", "once"), ("1", "once"), ("2", "once"), ("3", "capped"), ("4", "capped"), ("5", "capped"),
        ("6", "pending"), ("7", "pending"), ("8", "person"), ("9", "dry"), ("10", "tier"), ("11", "tier"),
        ("12", "tier"), ("13", "once"),
    ]  # fmt: skip
    dispatcher = make_dispatcher(private_broker_url, tier_caps=caps)
    live: list[JobStatus] = []
    deliveries: list[Delivery] = []
    store = redis.Redis.from_url(private_broker_url)
    clock = time.time()
    for n, (issue, culprit) in enumerate(sequence):
        if n == len(sequence) - 1:
            # once_within (2 s) passes for the last one: the simulation's clock moves on, and
            # the live gate's window key goes as its TTL would take it.
            clock += 2.2
            windows = list(store.scan_iter(once_key("once", "*")))
            assert windows
            store.delete(*windows)
        body = payload("issue_created")
        body["data"]["issue"].update(id=issue, culprit=culprit)
        deliveries.append(Delivery(clock + n * 0.001, "issue", body, f"issue {issue}"))
        subject = subject_of("issue", parse_webhook("issue", body))
        live += [dispatcher.submit(spec, subject).status for spec in plan(ruleset, subject)]

    keys = sorted(redis.Redis.from_url(private_broker_url).scan_iter("*"))
    simulated = [d.status for d in simulate(ruleset, deliveries, caps)]
    assert sorted(redis.Redis.from_url(private_broker_url).scan_iter("*")) == keys  # untouched

    assert simulated == live
    assert live == [
        JobStatus.QUEUED, JobStatus.DUPLICATE, JobStatus.THROTTLED,  # once: run, same delivery, once_within
        JobStatus.QUEUED, JobStatus.QUEUED, JobStatus.THROTTLED,  # capped: max_runs 2
        JobStatus.QUEUED, JobStatus.COALESCED,  # pending: the first still queued
        JobStatus.AWAITING_APPROVAL, JobStatus.DRY_RUN,
        JobStatus.QUEUED, JobStatus.QUEUED, JobStatus.THROTTLED,  # tier cap 3 (the approval took one)
        JobStatus.COALESCED,  # once, after its window: the first job is still pending (no worker)
    ]  # fmt: skip
