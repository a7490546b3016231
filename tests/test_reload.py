"""Rules reload: a changed rule file (or SIGHUP) reloads the rules in every process after
validation; an invalid file keeps the running rules, logs the error with rule and field and
shows in /healthz; jobs already planned keep what they were planned with."""

from __future__ import annotations

import logging
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from remediator.errors import RuleError
from remediator.live_rules import LiveRules
from remediator.settings import Settings
from tests.helpers import TOKEN, encode, payload, running_worker, sentry_headers, wait_for, web_process


def rules_text(alpha_url: str, beta: str | None = None) -> str:
    text = f"""
rules:
  - name: alpha
    approval: true
    match: {{title: {{contains: alpha}}}}
    job: {{script: http-request, tier: nonprod, class: C, params: {{url: "{alpha_url}", method: GET}}}}
"""
    if beta is not None:
        text += f"""
  - name: beta
    match: {{title: {{contains: beta}}}}
    job: {{script: {beta}, tier: nonprod, class: C}}
"""
    return text


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def write(path: Path, text: str) -> None:
    """Replace the file as editors and config tools do (a new inode, so a change shows)."""
    partial = path.with_suffix(".tmp")
    partial.write_text(text)
    partial.replace(path)


# -- LiveRules, in process ------------------------------------------------------------------------


def test_a_changed_file_is_reloaded_at_the_next_check(tmp_path: Path) -> None:
    path, clock = tmp_path / "rules.yaml", Clock()
    write(path, rules_text("http://127.0.0.1:9/v1"))
    live = LiveRules(Settings(rules_file=path), check_every=2.0, clock=clock)
    first = live.version
    write(path, rules_text("http://127.0.0.1:9/v1", beta="noop"))
    assert [r.name for r in live.current.rules] == ["alpha"]  # not yet time to look
    clock.now = 2.0
    assert [r.name for r in live.current.rules] == ["alpha", "beta"]
    assert live.version != first and live.status()["last_error"] is None


def test_an_invalid_file_keeps_the_running_rules_and_says_which_rule_and_field(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path, clock = tmp_path / "rules.yaml", Clock()
    write(path, rules_text("http://127.0.0.1:9/v1", beta="noop"))
    live = LiveRules(Settings(rules_file=path), clock=clock)
    good = live.version
    write(path, rules_text("http://127.0.0.1:9/v1", beta="restart-everything"))
    clock.now = 10.0
    with caplog.at_level(logging.ERROR, logger="remediator.live_rules"):
        assert [r.name for r in live.current.rules] == ["alpha", "beta"]
        clock.now = 20.0
        assert live.current.get("beta").job.script == "noop"  # the same bad file again: logged once
    status = live.status()
    assert status["version"] == good
    assert "rule 'beta': job.script: unknown script 'restart-everything'" in status["last_error"]
    refusals = [r for r in caplog.records if "rules NOT reloaded" in r.getMessage()]
    assert len(refusals) == 1 and "rule 'beta'" in refusals[0].getMessage()
    write(path, rules_text("http://127.0.0.1:9/v2", beta="noop"))
    clock.now = 30.0
    assert live.current.get("alpha").job.params["url"] == "http://127.0.0.1:9/v2"
    assert live.status()["last_error"] is None


def test_a_reload_request_rereads_even_when_the_file_looks_unchanged(tmp_path: Path) -> None:
    path, clock = tmp_path / "rules.yaml", Clock()
    write(path, rules_text("http://127.0.0.1:9/v1"))
    live = LiveRules(Settings(rules_file=path), check_every=3600, clock=clock)
    stat = os.stat(path)
    path.write_text(rules_text("http://127.0.0.1:9/v9"))  # same size, mtime put back
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert live.current.get("alpha").job.params["url"].endswith("/v1")
    live.request_reload()
    assert live.current.get("alpha").job.params["url"].endswith("/v9")


def test_an_invalid_file_at_start_fails_unless_a_sibling_kept_the_last_good_one(tmp_path: Path) -> None:
    path, keep = tmp_path / "rules.yaml", tmp_path / "keep" / "last-good.yaml"
    write(path, rules_text("http://127.0.0.1:9/v1"))
    LiveRules(Settings(rules_file=path), keep_last_good=keep)
    write(path, "rules: [")
    with pytest.raises(RuleError, match="not valid YAML"):
        LiveRules(Settings(rules_file=path))
    started = LiveRules(Settings(rules_file=path), keep_last_good=keep)
    assert [r.name for r in started.current.rules] == ["alpha"]
    assert "not valid YAML" in started.status()["last_error"]


# -- real processes: gunicorn under `remediator web`, a Celery worker -------------------------------


def webhook(base: str, title: str) -> requests.Response:
    document = payload("issue_created")
    document["data"]["issue"].update(id=str(time.monotonic_ns()), title=title)
    body = encode(document)
    return requests.post(
        f"{base}/sentry/webhook", data=body, headers=sentry_headers("issue", body), timeout=5
    )


def healthz(base: str) -> dict[str, Any]:
    document: dict[str, Any] = requests.get(f"{base}/healthz", timeout=5).json()
    return document


def everywhere(base: str, ready: Any, what: str, workers: int = 2) -> None:
    """Poll /healthz until each of the web's gunicorn workers (told apart by the pid its
    answer carries) last answered with `ready(rules)` true: which worker takes a connection
    is the kernel's choice, so a run of answers in a row could all come from one."""
    latest: dict[int, bool] = {}

    def held() -> bool:
        rules = healthz(base)["rules"]
        latest[rules["pid"]] = bool(ready(rules))
        return len(latest) >= workers and all(latest.values())

    wait_for(held, timeout=20, interval=0.05, what=what)


@pytest.mark.slow
def test_every_process_follows_the_file_and_a_bad_one_never_stops_them(
    tmp_path: Path, private_broker_url: str, log_dir: Path, http_target
) -> None:
    rules = tmp_path / "rules.yaml"
    write(rules, rules_text(f"{http_target.url}/v1"))
    with web_process(tmp_path, private_broker_url, rules) as running:
        base, web, env, web_log = running["base"], running["process"], running["env"], running["log"]
        with running_worker("nonprod", log_dir, env=env, name="nonprod-reload") as worker:
            v1 = healthz(base)["rules"]["version"]
            assert webhook(base, "beta broke").json()["status"] == "ignored"
            waiting = webhook(base, "alpha broke").json()["jobs"][0]
            assert waiting["status"] == "awaiting_approval"

            # A changed file: both web workers take it within the check interval.
            write(rules, rules_text(f"{http_target.url}/v2", beta="noop"))
            everywhere(base, lambda r: r["version"] != v1 and r["rules"] == 2, "the new rules everywhere")
            v2 = healthz(base)["rules"]["version"]
            assert webhook(base, "beta broke").status_code == 202

            # The job planned before the change runs as it was planned (/v1, not /v2).
            answer = requests.post(
                f"{base}/api/jobs/{waiting['id']}/approve",
                json={"by": "ops"},
                headers={"Authorization": f"Bearer {TOKEN}"},
                timeout=5,
            )
            assert answer.status_code == 200, answer.text
            wait_for(lambda: "/v1" in http_target.paths(), 30, 0.1, "the approved job's request")
            assert "/v2" not in http_target.paths()

            # An invalid file: the rules keep running, /healthz names the rule and the field.
            write(rules, rules_text(f"{http_target.url}/v3", beta="restart-everything"))
            everywhere(
                base,
                lambda r: r["version"] == v2 and "rule 'beta': job.script" in (r["last_error"] or ""),
                "the refusal in /healthz",
            )
            assert webhook(base, "beta broke").status_code == 202

            # SIGHUP to the gunicorn master: new workers boot on the last good rules.
            booted = web_log.read_text().count("Booting worker")
            web.send_signal(signal.SIGHUP)
            wait_for(
                lambda: web_log.read_text().count("Booting worker") >= booted + 2,
                30,
                0.2,
                "gunicorn's new workers",
            )
            everywhere(
                base, lambda r: r["version"] == v2 and r["last_error"], "the last good rules after HUP"
            )
            assert web.poll() is None and webhook(base, "beta broke").status_code == 202

            # SIGHUP to the Celery worker: it rereads the file (and refuses it), it is not re-executed.
            assert worker.process is not None
            pid = worker.process.pid
            worker.process.send_signal(signal.SIGHUP)
            wait_for(lambda: "rules NOT reloaded" in worker.log(), 20, 0.2, "the worker's refusal")
            assert "rule 'beta': job.script" in worker.log()
            assert worker.process.pid == pid and worker.process.poll() is None
            assert "Restarting celery worker" not in worker.log()
            job = webhook(base, "beta again").json()["jobs"][0]
            assert job["rule"] == "beta"

            def status() -> str:
                url = f"{base}/api/jobs/{job['id']}"
                answer = requests.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
                return str(answer.json()["status"])

            wait_for(lambda: status() == "succeeded", 30, 0.2, "the worker to still run jobs")
