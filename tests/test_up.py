"""End to end: `remediator up` as a user runs it, over real HTTP, with nothing else running."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from remediator.embedded_redis import free_port
from tests.helpers import encode, payload, sentry_headers, wait_for

pytestmark = pytest.mark.slow


def refuses(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) != 0


def test_up_serves_healthz_runs_a_signed_webhooks_job_and_stops_cleanly(tmp_path: Path, http_target) -> None:
    # Given a fresh directory, no broker configured and a rule that calls a local service
    rules = tmp_path / "rules.yaml"
    rules.write_text(f"""
rules:
  - name: db
    approval: false
    match: {{culprit: {{contains: database}}}}
    job: {{script: http-request, tier: prod, class: A,
          params: {{url: "{http_target.url}/fix/{{{{ issue_id }}}}", method: POST}}}}
""")
    env = {k: v for k, v in os.environ.items() if not k.startswith("REMEDIATOR_")}
    env["REMEDIATOR_RULES_FILE"] = str(rules)
    port = free_port()
    log = open(tmp_path / "up.log", "wb")  # noqa: SIM115
    up = subprocess.Popen(
        [sys.executable, "-m", "remediator", "up", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        # When it is up
        def healthy() -> bool:
            try:
                return requests.get(f"{base}/healthz", timeout=1).status_code == 200
            except requests.RequestException:  # not listening yet, or still booting
                assert up.poll() is None, (tmp_path / "up.log").read_text()
                return False

        wait_for(healthy, timeout=60, interval=0.25, what="remediator up to answer /healthz")
        secrets = json.loads((tmp_path / "var" / "secrets.json").read_text())
        redis_url = (tmp_path / "var" / "embedded-redis.url").read_text().strip()
        redis_port = int(redis_url.rsplit(":", 1)[1].split("/")[0])

        # Then a webhook signed with the generated secret becomes a job that completes
        document = payload("issue_created")
        document["data"]["issue"]["culprit"] = "app.database in acquire"
        body = encode(document)
        headers = sentry_headers("issue", body, secret=secrets["sentry_client_secret"])
        response = requests.post(f"{base}/sentry/webhook", data=body, headers=headers, timeout=5)
        assert response.status_code == 202, response.text
        assert response.elapsed.total_seconds() < 1.0, "over Sentry's 1-second budget"
        job_id = response.json()["jobs"][0]["id"]
        auth = {"Authorization": f"Bearer {secrets['api_token']}"}

        def job_done() -> dict | None:  # type: ignore[type-arg]
            job = requests.get(f"{base}/api/jobs/{job_id}", headers=auth, timeout=2).json()
            return job if job["status"] in ("succeeded", "failed") else None

        job = wait_for(job_done, timeout=60, interval=0.25, what="the job to finish")
        assert job["status"] == "succeeded", job
        assert job["worker"].startswith("prod@")
        assert http_target.paths() == ["/fix/1170820242"]
        output = (tmp_path / "up.log").read_text()
        assert f"webhook:  POST http://127.0.0.1:{port}/sentry/webhook" in output
        assert secrets["sentry_client_secret"] in output
        assert (tmp_path / "var" / "logs" / "remediator.log").stat().st_size > 0
    finally:
        # And Ctrl-C stops everything, the embedded Redis included
        up.send_signal(signal.SIGINT)
        try:
            up.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(up.pid, signal.SIGKILL)
            raise
        log.close()
    assert refuses(port), "web still listening after Ctrl-C"
    assert refuses(redis_port), "embedded Redis still running after Ctrl-C"
    assert not (tmp_path / "var" / "embedded-redis.url").exists()
    assert "embedded Redis stopped" in (tmp_path / "up.log").read_text()


def test_up_demo_closes_the_loop_and_links_the_webhook_trace_to_the_job(tmp_path: Path) -> None:
    # Given `remediator up --demo` with nothing configured
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REMEDIATOR_", "SENTRY_"))}
    port = free_port()
    env.update(PORT=str(port), REMEDIATOR_DEMO_VERIFY_AFTER="1")
    log = open(tmp_path / "up.log", "wb")  # noqa: SIM115
    up = subprocess.Popen(
        [sys.executable, "-m", "remediator", "up", "--demo"],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:

        def healthy() -> bool:
            try:
                return requests.get(f"{base}/healthz", timeout=1).status_code == 200
            except requests.RequestException:
                assert up.poll() is None, (tmp_path / "up.log").read_text()
                return False

        wait_for(healthy, timeout=60, interval=0.25, what="remediator up --demo")
        # When Sentry (played by `remediator demo send`) reports a database issue
        sent = subprocess.run(
            [sys.executable, "-m", "remediator", "demo", "send", "--issue-id", "4242"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert sent.returncode == 0, sent.stderr
        assert "webhook answered 202" in sent.stdout
        job_id = sent.stdout.split("remediator jobs show ")[1].split()[0]
        token = json.loads((tmp_path / "var" / "secrets.json").read_text())["api_token"]
        auth = {"Authorization": f"Bearer {token}"}

        def verified() -> dict | None:  # type: ignore[type-arg]
            job = requests.get(f"{base}/api/jobs/{job_id}", headers=auth, timeout=2).json()
            assert job["status"] not in ("failed", "ineffective"), job
            return job if job["status"] == "verified" else None

        # Then the job runs, is verified, and the issue is resolved with comments on it
        job = wait_for(verified, timeout=60, interval=0.25, what="the job to be verified")
        assert job["script"] == "restart-db-pool" and job["worker"].startswith("prod@")
        standin = json.loads((tmp_path / "var" / "sentry-standin.json").read_text())["url"]

        def loop_closed() -> dict | None:  # type: ignore[type-arg]
            state = requests.get(f"{standin}/_standin/state", timeout=2).json()
            texts = state["comments"].get("4242", [])
            return state if len(texts) >= 3 else None

        state = wait_for(loop_closed, timeout=30, interval=0.25, what="three comments")
        assert state["issues"]["4242"]["status"] == "resolved"
        texts = state["comments"]["4242"]
        assert "submitted" in texts[0] or "submitted" in texts[1]
        assert texts[-1].startswith("Verified")

        # And the webhook's request and the job share one trace in Sentry
        def traces() -> tuple[dict, dict] | None:  # type: ignore[type-arg]
            items = requests.get(f"{standin}/_standin/envelopes", timeout=2).json()
            txns = [i["payload"] for i in items if i["type"] == "transaction"]
            job_txn = next((t for t in txns if t.get("tags", {}).get("job_id") == job_id), None)
            web_txn = next(
                (
                    t
                    for t in txns
                    if t["contexts"]["trace"].get("op") == "http.server"
                    and t.get("request", {}).get("url", "").endswith("/sentry/webhook")
                ),
                None,
            )
            return (web_txn, job_txn) if web_txn and job_txn else None

        web_txn, job_txn = wait_for(traces, timeout=30, interval=0.25, what="both transactions")
        assert job_txn["contexts"]["trace"]["op"] == "batch.job"
        assert job_txn["contexts"]["trace"]["trace_id"] == web_txn["contexts"]["trace"]["trace_id"]
    finally:
        up.send_signal(signal.SIGINT)
        try:
            up.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(up.pid, signal.SIGKILL)
            raise
        log.close()
    assert refuses(port)
