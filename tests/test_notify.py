"""Notifications: the rule file's routes, real worker processes sending through real
servers (the Slack/PagerDuty/GitHub stand-in over HTTP, aiosmtpd for email, Apprise's
json:// to a local receiver), digests under a storm, PagerDuty's resolve, Retry-After, and
no secret anywhere."""

from __future__ import annotations

import email
import hashlib
import hmac
import json
import math
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from aiosmtpd.controller import Controller

from remediator.errors import RuleError
from remediator.jobs import JobStatus, JobStore
from remediator.lifecycle import EventKind
from remediator.listeners import build_lifecycle
from remediator.live_rules import configured_rules
from remediator.local.embedded_redis import free_port
from remediator.remediation_scripts import public_job
from remediator.rules import parse_rules
from remediator.settings import Settings
from remediator.testing import NotifyStandIn
from remediator.testing.factories import make_job
from remediator.worker.celery_app import create_celery
from tests.conftest import _db_url
from tests.helpers import TOKEN, WorkerProcess, clean, encode, payload, sentry_headers, wait_for

ROUTING_KEY = "R0UT1NGK3Y0123456789abcdef012345"  # PagerDuty's are 32 characters
SMTP_PASSWORD = "smtp-pa55word-secret"
HOOK_SECRET = "audit-hook-secret-value"
EVENTS = [k.value for k in EventKind]

RULES = """
rules:
  - name: cache-restart
    approval: false
    verify: none
    match: {culprit: {contains: cache}}
    job: {script: run-command, tier: prod, class: A, params: {argv: ["false"]}}
  - name: pool-reset
    verify: none
    match: {culprit: {contains: database}}
    job: {script: run-command, tier: nonprod, class: C, params: {argv: ["false"]}}
  - name: build-fix
    verify: none
    match: {title: {contains: Build failed}}
    job: {script: noop, tier: nonprod, class: B, namespace: ci-cd}
notify:
  digest_window: 3s
  channels:
    prod-slack: {type: slack, webhook_url: "${SLACK_WEBHOOK_URL}"}
    oncall:     {type: pagerduty, routing_key: "${PAGERDUTY_ROUTING_KEY}", url: "${PAGERDUTY_URL}"}
    dev-mail:   {type: email, to: [dev-alerts@example.com]}
    pr:         {type: github}
    teams:      {type: apprise, url: "${TEAMS_APPRISE_URL}"}
    audit:      {type: webhook, url: "${AUDIT_URL}", secret: "${AUDIT_SECRET}"}
  routes:
    - when: {tier: prod, events: [failed, ineffective, needs_attention, breaker_opened, heartbeat_error]}
      to: [prod-slack]
    - when: {tier: prod, class: [A], events: [failed, ineffective, needs_attention]}
      to: [oncall]
    - when: {tier: nonprod, events: [failed, ineffective]}
      to: [dev-mail, teams, audit]
    - when: {namespace: ci-cd, events: [succeeded, failed]}
      to: [pr]
"""


class Mailbox:
    """aiosmtpd's handler: keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []
        self.logins: list[tuple[str, str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture(scope="module")
def services() -> Iterator[dict[str, Any]]:
    standin = NotifyStandIn(github_token="gh-test-token-123").start()
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    yield {"standin": standin, "mailbox": mailbox, "smtp_port": smtp.port}
    smtp.stop()
    standin.stop()


@pytest.fixture(scope="module")
def notify_env(services, broker_url, tmp_path_factory) -> Iterator[dict[str, str]]:
    standin: NotifyStandIn = services["standin"]
    rules_file = tmp_path_factory.mktemp("notify") / "rules.yaml"
    rules_file.write_text(RULES)
    env = {
        "REMEDIATOR_BROKER_URL": _db_url(broker_url, 4),
        "REMEDIATOR_RULES_FILE": str(rules_file),
        "SLACK_WEBHOOK_URL": standin.slack_url,
        "PAGERDUTY_ROUTING_KEY": ROUTING_KEY,
        "PAGERDUTY_URL": standin.pagerduty_url,
        "TEAMS_APPRISE_URL": standin.hook_url.replace("http://", "json://") + "/apprise",
        "AUDIT_URL": standin.hook_url + "/audit",
        "AUDIT_SECRET": HOOK_SECRET,
        "REMEDIATOR_SMTP_URL": f"smtp://127.0.0.1:{services['smtp_port']}?from=remediator@example.com",
        "REMEDIATOR_GITHUB_TOKEN": "gh-test-token-123",
        "REMEDIATOR_GITHUB_API_URL": standin.github_api_url,
        "REMEDIATOR_PUBLIC_URL": "http://remediator.test",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path_factory.mktemp("metrics")),
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        yield env


@pytest.fixture(scope="module")
def notify_workers(notify_env, log_dir) -> Iterator[dict[str, WorkerProcess]]:
    clean(redis.Redis.from_url(notify_env["REMEDIATOR_BROKER_URL"]))
    started = {
        tier: WorkerProcess(tier, log_dir, env=notify_env, name=f"{tier}-notify").start()
        for tier in ("prod", "nonprod")
    }
    yield started
    for worker in started.values():
        worker.stop()


@pytest.fixture
def stack(services, notify_env, notify_workers, make_app):  # type: ignore[no-untyped-def]
    services["standin"].reset()
    services["mailbox"].messages.clear()
    client = redis.Redis.from_url(notify_env["REMEDIATOR_BROKER_URL"], decode_responses=True)
    clean(client)
    app = make_app(RULES, broker=notify_env["REMEDIATOR_BROKER_URL"])
    return {
        **services,
        "client": app.test_client(),
        "store": JobStore(client),
        "env": notify_env,
        "workers": notify_workers,
    }


def deliver(  # type: ignore[no-untyped-def]
    client, issue_id: str, culprit: str, title: str = "Boom", tags: dict[str, str] | None = None
) -> dict[str, Any]:
    if tags is None:
        document = payload("issue_created")
        document["data"]["issue"].update(id=issue_id, culprit=culprit, title=title)
        resource = "issue"
    else:
        document = payload("event_alert_triggered")
        document["data"]["event"].update(
            event_id=f"{int(issue_id):032x}",
            issue_id=issue_id,
            culprit=culprit,
            title=title,
            tags=[[k, v] for k, v in tags.items()],
        )
        resource = "event_alert"
    body = encode(document)
    answer = client.post("/sentry/webhook", data=body, headers=sentry_headers(resource, body))
    assert answer.status_code == 202, answer.get_data(as_text=True)
    job: dict[str, Any] = answer.get_json()["jobs"][0]
    return job


def lifecycle_of(stack: dict[str, Any]) -> Any:
    """A lifecycle in the test process, as the web's: its events reach the workers."""
    settings = Settings(broker_url=stack["env"]["REMEDIATOR_BROKER_URL"])
    celery = create_celery(settings.effective_broker_url())
    return build_lifecycle(settings, stack["store"], celery, configured_rules(settings))


def finished(store: JobStore, job_id: str) -> Any:
    return wait_for(
        lambda: (j := store.get(job_id)) and j.status not in (JobStatus.QUEUED, JobStatus.RUNNING) and j,
        30,
        0.05,
        f"job {job_id} to finish",
    )


# -- the rule file's section ------------------------------------------------------------------


def test_notify_errors_name_the_channel_or_route_and_field() -> None:
    bad = RULES.replace("to: [dev-alerts@example.com]", "to: [not-an-address]").replace(
        "events: [succeeded, failed]", "events: [succeded]"
    )
    with pytest.raises(RuleError) as raised:
        parse_rules(bad, events=EVENTS, environ={})
    text = str(raised.value)
    assert "notify channel 'dev-mail': to: 'not-an-address' is not an email address" in text
    assert "notify route #4: when.events: unknown event 'succeded'" in text
    unknown = RULES.replace("to: [pr]", "to: [pr, nowhere]")
    with pytest.raises(RuleError, match="route #4: to: no channel 'nowhere'"):
        parse_rules(unknown, events=EVENTS, environ={})


def test_a_channel_whose_variable_is_unset_is_disabled_not_an_error() -> None:
    rules = parse_rules(RULES, events=EVENTS, environ={"SLACK_WEBHOOK_URL": "https://hooks.slack.test/x"})
    assert set(rules.notify.usable) == {"prod-slack"}
    assert rules.notify.disabled["dev-mail"] == "REMEDIATOR_SMTP_URL unset"
    assert rules.notify.disabled["pr"] == "REMEDIATOR_GITHUB_TOKEN unset"
    assert rules.notify.disabled["oncall"] == "PAGERDUTY_ROUTING_KEY, PAGERDUTY_URL unset"
    assert "notify channel 'teams' is disabled: TEAMS_APPRISE_URL unset" in rules.notes
    assert rules.notify.secrets() == ["https://hooks.slack.test/x"]


def test_routes_are_chosen_by_tier_class_event_and_namespace() -> None:
    notify = parse_rules(RULES, events=EVENTS, environ={}).notify

    def routes(event: str, tier: str, klass: str, namespace: str = "default") -> list[int]:
        return [i + 1 for i, _ in notify.routes_for(event, tier, klass, namespace, "any")]

    assert routes("failed", "prod", "A") == [1, 2]
    assert routes("failed", "prod", "B") == [1]
    assert routes("succeeded", "prod", "A") == []
    assert routes("failed", "nonprod", "C") == [3]
    assert routes("failed", "nonprod", "B", "ci-cd") == [3, 4]
    assert routes("succeeded", "nonprod", "B", "ci-cd") == [4]
    assert routes("heartbeat_error", "prod", "") == [1]


# -- end to end through the workers -----------------------------------------------------------


def test_a_failing_class_a_prod_job_pages_once_posts_once_and_resolves_when_verified(stack) -> None:
    standin: NotifyStandIn = stack["standin"]
    store: JobStore = stack["store"]
    job = finished(store, deliver(stack["client"], "9001", "app.cache.client", "TimeoutError: cache")["id"])
    assert job.status is JobStatus.FAILED
    triggers = wait_for(lambda: standin.received("/pagerduty"), 20, 0.05, "PagerDuty trigger")
    slack = wait_for(lambda: standin.received("/slack"), 20, 0.05, "Slack message")
    assert [t["body"]["event_action"] for t in triggers] == ["trigger"]
    trigger = triggers[0]["body"]
    assert trigger["dedup_key"] == "remediator/cache-restart/9001"
    assert trigger["payload"]["severity"] == "critical"
    assert "TimeoutError: cache" in trigger["payload"]["summary"]
    assert {"href": f"http://remediator.test/jobs/{job.id}", "text": "Job"} in trigger["links"]
    blocks = slack[0]["body"]["blocks"]
    assert blocks[0]["type"] == "header" and "Remediation failed" in blocks[0]["text"]["text"]
    assert any(b["type"] == "actions" for b in blocks)
    # a second failure of the same rule and issue within the window: held, not sent
    # (an event of the same issue: a new delivery, not a duplicate)
    again = finished(
        store, deliver(stack["client"], "9001", "app.cache.client", "TimeoutError: cache", {})["id"]
    )
    assert again.status is JobStatus.FAILED
    client = store.client
    wait_for(
        lambda: any(client.scan_iter("remediator:notify:held:*")), 20, 0.05, "the failure held for a digest"
    )
    assert len(standin.received("/pagerduty")) == 1 and len(standin.received("/slack")) == 1
    # when the window closes, one digest per channel; PagerDuty folds it into the incident
    wait_for(lambda: len(standin.received("/slack")) == 2, 20, 0.1, "the Slack digest")
    digest = standin.received("/slack")[1]["body"]["blocks"][0]["text"]["text"]
    assert digest.startswith("1 more events of rule cache-restart")
    wait_for(lambda: len(standin.received("/pagerduty")) == 2, 20, 0.1, "the PagerDuty digest")
    assert standin.incidents == {"remediator/cache-restart/9001": "triggered"}
    # a later job of that rule for that issue is verified: the incident is resolved
    later = store.create(
        make_job(
            rule="cache-restart",
            tier="prod",
            priority_class="A",
            sentry_issue_id="9001",
            status=JobStatus.SUCCEEDED,
            attempts=1,
        )
    )
    lifecycle_of(stack).move(later, JobStatus.SUCCEEDED, JobStatus.VERIFIED)
    wait_for(lambda: standin.incidents.get("remediator/cache-restart/9001") == "resolved", 20, 0.1, "resolve")
    notes = store.get(job.id).notes
    sent = [n for n in notes if n["kind"] == "notify" and n["ok"]]
    assert {n["channel"] for n in sent} == {"prod-slack", "oncall"}


def test_a_nonprod_failure_is_one_email_a_signed_webhook_and_an_apprise_post(stack) -> None:
    standin: NotifyStandIn = stack["standin"]
    job = finished(
        stack["store"], deliver(stack["client"], "9101", "app.database.pool", "Pool <exhausted>")["id"]
    )
    assert job.status is JobStatus.FAILED
    mails = wait_for(lambda: stack["mailbox"].messages, 20, 0.05, "the email")
    assert len(mails) == 1 and mails[0]["To"] == "dev-alerts@example.com"
    assert mails[0]["From"] == "remediator@example.com"
    parts = {
        p.get_content_type(): p.get_payload(decode=True).decode()
        for p in mails[0].walk()
        if not p.is_multipart()
    }
    assert "Pool <exhausted>" in parts["text/plain"] and "Pool &lt;exhausted&gt;" in parts["text/html"]
    audit = wait_for(lambda: standin.received("/hook/audit"), 20, 0.05, "the audit webhook")[0]
    expected = hmac.new(HOOK_SECRET.encode(), audit["raw"], hashlib.sha256).hexdigest()
    assert audit["headers"]["Remediator-Hook-Signature"] == expected
    assert audit["body"]["remediator"]["job_id"] == job.id
    apprise = wait_for(lambda: standin.received("/hook/apprise"), 20, 0.05, "the Apprise post")[0]
    assert "Remediation failed" in json.dumps(apprise["body"])
    assert not standin.received("/slack") and not standin.received("/pagerduty")


def test_a_ci_cd_job_comments_on_its_pull_request(stack) -> None:
    standin: NotifyStandIn = stack["standin"]
    tags = {"repository": "acme/shop", "pull_request": "42", "commit": "abc123"}
    job = finished(stack["store"], deliver(stack["client"], "9201", "ci", "Build failed: pytest", tags)["id"])
    assert job.status is JobStatus.SUCCEEDED and job.namespace == "ci-cd"
    comment = wait_for(lambda: standin.comments, 20, 0.05, "the PR comment")[0]
    assert comment["repository"] == "acme/shop" and comment["on"] == "issues" and comment["target"] == "42"
    assert "Remediation succeeded" in comment["body"] and f"/jobs/{job.id}" in comment["body"]


def test_a_storm_of_500_failing_jobs_sends_a_handful_of_messages(stack) -> None:
    standin: NotifyStandIn = stack["standin"]
    store: JobStore = stack["store"]
    lifecycle = lifecycle_of(stack)
    jobs = [
        store.create(
            make_job(
                rule="pool-reset",
                tier="nonprod",
                status=JobStatus.RUNNING,
                attempts=1,
                sentry_issue_id=str(20000 + n),
            )
        )
        for n in range(500)
    ]
    started = time.monotonic()
    for job in jobs:
        lifecycle.move(job, JobStatus.RUNNING, JobStatus.FAILED, error="pool still exhausted")

    # Each failure goes out at once when it opens a window (3 s here) or is counted in that
    # window's digest: every one of the 500 is accounted for, in a handful of mails (two per
    # window the deliveries spanned: on a busy machine they span a few).
    def accounted() -> int:
        total = 0
        for mail in stack["mailbox"].messages:
            found = re.search(r"(\d+) more events of rule pool-reset", mail["Subject"])
            total += int(found.group(1)) if found else 1
        return total

    wait_for(lambda: accounted() == 500, 90, 0.2, "every failure sent or digested")
    windows = math.ceil((time.monotonic() - started) / 3) + 1
    client = store.client

    def settled() -> bool:  # no window open and nothing held: nothing more can be sent
        return not any(client.scan_iter("remediator:notify:window:*")) and not any(
            client.scan_iter("remediator:notify:held:*")
        )

    wait_for(settled, 30, 0.1, "every digest window to close")
    mails = stack["mailbox"].messages
    assert accounted() == 500, [m["Subject"] for m in mails]
    assert len(mails) <= min(2 * windows, 12), (windows, [m["Subject"] for m in mails])
    assert len(standin.received("/hook/audit")) == len(mails)
    assert any("failed" in m["Subject"] and "more events" in m["Subject"] for m in mails)


def test_429_is_retried_after_the_retry_after_it_asked_for(stack) -> None:
    standin: NotifyStandIn = stack["standin"]
    standin.throttle("/slack", times=1, retry_after=2)
    started = time.monotonic()
    job = finished(stack["store"], deliver(stack["client"], "9301", "app.cache.client")["id"])
    slack = wait_for(lambda: standin.received("/slack"), 30, 0.05, "Slack after the 429")
    assert slack[0]["at"] - min(r["at"] for r in standin.requests if r["path"].startswith("/slack")) >= 2
    assert time.monotonic() - started >= 2

    def slack_notes() -> list[dict[str, Any]] | None:
        # Slack records the request on arrival; the worker notes the answer just after.
        notes = [n for n in stack["store"].get(job.id).notes if n.get("channel") == "prod-slack"]
        return notes if notes and notes[-1]["ok"] is True else None

    notes = wait_for(slack_notes, 20, 0.05, "the note of the accepted attempt")
    assert notes[0]["ok"] is False and "429" in notes[0]["error"] and "again in 2 s" in notes[0]["error"]
    assert notes[-1]["attempt"] == 2
    assert counted(stack["env"], "prod-slack", "retried") >= 1
    assert counted(stack["env"], "prod-slack", "sent") >= 1


def test_no_secret_reaches_a_job_record_the_api_or_a_log(stack) -> None:
    job = finished(stack["store"], deliver(stack["client"], "9401", "app.database.pool")["id"])
    wait_for(lambda: stack["mailbox"].messages, 20, 0.05, "the email")
    wait_for(
        lambda: len([n for n in stack["store"].get(job.id).notes if n["kind"] == "notify"]) >= 3,
        20,
        0.1,
        "notes of every channel",
    )
    api = stack["client"].get(f"/api/jobs/{job.id}", headers={"Authorization": f"Bearer {TOKEN}"}).get_json()
    record = json.dumps(public_job(stack["store"].get(job.id))) + json.dumps(api)
    logs = "".join(w.log() for w in stack["workers"].values())
    assert job.id in logs  # the workers' logs were read, and they tell of this job
    secrets = [ROUTING_KEY, HOOK_SECRET, stack["env"]["SLACK_WEBHOOK_URL"], "gh-test-token-123"]
    for secret in secrets:
        assert secret not in record, secret
        assert secret not in logs, secret


def test_notify_test_sends_now_and_says_what_the_channel_answered(stack) -> None:
    env = {**os.environ, **stack["env"]}
    done = subprocess.run(
        [sys.executable, "-m", "remediator", "notify", "test", "prod-slack"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "prod-slack (slack): Slack: 200 ok"
    assert "Test message from remediator" in json.dumps(stack["standin"].received("/slack")[-1]["body"])
    stack["standin"].throttle("/pagerduty", times=1)
    refused = subprocess.run(
        [sys.executable, "-m", "remediator", "notify", "test", "oncall"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 1 and "PagerDuty answered 429 (a later attempt may pass)" in refused.stderr
    unset = {k: v for k, v in env.items() if k != "PAGERDUTY_ROUTING_KEY"}
    disabled = subprocess.run(
        [sys.executable, "-m", "remediator", "notify", "test", "oncall"],
        env=unset,
        capture_output=True,
        text=True,
    )
    assert "channel 'oncall' is disabled: PAGERDUTY_ROUTING_KEY unset" in disabled.stderr


def counted(env: dict[str, str], channel: str, outcome: str) -> float:
    """remediator_notifications_total as every worker process wrote it (multiprocess files)."""
    from prometheus_client import CollectorRegistry, multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=env["PROMETHEUS_MULTIPROC_DIR"])
    value = registry.get_sample_value(
        "remediator_notifications_total", {"channel": channel, "outcome": outcome}
    )
    return value or 0.0


def test_a_notification_that_finally_fails_shows_on_the_job_and_in_the_metrics(stack) -> None:
    before = counted(stack["env"], "pr", "failed")
    # a ci-cd job whose event names no repository: the GitHub channel cannot comment
    job = finished(
        stack["store"], deliver(stack["client"], "9501", "ci", "Build failed: make", {"branch": "main"})["id"]
    )
    note = wait_for(
        lambda: [n for n in stack["store"].get(job.id).notes if n.get("channel") == "pr"],
        20,
        0.05,
        "the note",
    )[0]
    assert note["ok"] is False and "no repository" in note["error"] and note["error"].endswith("given up")
    wait_for(lambda: counted(stack["env"], "pr", "failed") == before + 1, 10, 0.1, "the failed count")


def test_sentry_resolving_the_issue_resolves_its_pagerduty_incident(stack) -> None:
    standin: NotifyStandIn = stack["standin"]
    finished(
        stack["store"], deliver(stack["client"], "9601", "app.cache.client", "TimeoutError: cache")["id"]
    )
    wait_for(
        lambda: standin.incidents.get("remediator/cache-restart/9601") == "triggered", 20, 0.05, "trigger"
    )
    document = payload("issue_created") | {"action": "resolved"}
    document["data"]["issue"].update(id="9601", culprit="app.cache.client", status="resolved")
    body = encode(document)
    answer = stack["client"].post("/sentry/webhook", data=body, headers=sentry_headers("issue", body))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    wait_for(
        lambda: standin.incidents.get("remediator/cache-restart/9601") == "resolved", 20, 0.05, "resolve"
    )
    resolves = [r for r in standin.received("/pagerduty") if r["body"]["event_action"] == "resolve"]
    assert len(resolves) == 1 and resolves[0]["body"]["routing_key"] == ROUTING_KEY
