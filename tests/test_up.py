"""End to end: `remediator up` as a user runs it, over real HTTP, with nothing else running."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from remediator.local.embedded_redis import free_port
from tests.helpers import encode, payload, sentry_headers, wait_for

pytestmark = pytest.mark.slow


def refuses(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) != 0


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a newcomer: none of the suite's REMEDIATOR_/SENTRY_ settings, and
    a state dir of its own (where `up` notes itself for the operator commands)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REMEDIATOR_", "SENTRY_"))}
    state = tempfile.mkdtemp(prefix="remediator-state-")
    return env | {"PORT": str(free_port()), "XDG_STATE_HOME": state, **extra}


def remediator(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`remediator ARGS` as a user runs it from cwd."""
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [sys.executable, "-m", "remediator", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@contextmanager
def running_up(cwd: Path, env: dict[str, str], *args: str) -> Iterator[str]:
    """`remediator up ARGS` as a user runs it; yields its base URL once /healthz answers,
    then stops it with Ctrl-C (SIGINT) and waits for it to exit."""
    log = open(cwd / "up.log", "wb")  # noqa: SIM115 - the process writes it
    up = subprocess.Popen(
        [sys.executable, "-m", "remediator", "up", *args],
        cwd=cwd,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{env['PORT']}"

    def healthy() -> bool:
        try:
            return requests.get(f"{base}/healthz", timeout=1).status_code == 200
        except requests.RequestException:  # not listening yet, or still booting
            assert up.poll() is None, (cwd / "up.log").read_text()
            return False

    try:
        wait_for(healthy, timeout=60, interval=0.25, what="remediator up to answer /healthz")
        yield base
    finally:
        up.send_signal(signal.SIGINT)
        try:
            up.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(up.pid, signal.SIGKILL)
            raise
        finally:
            log.close()


def wait_for_json(
    url: str, ready: Any, what: str, headers: dict[str, str] | None = None, timeout: float = 60
) -> Any:
    """Poll a JSON endpoint until ready(document) is true; returns the document."""

    def fetch() -> Any:
        document = requests.get(url, headers=headers, timeout=2).json()
        return document if ready(document) else None

    return wait_for(fetch, timeout=timeout, interval=0.25, what=what)


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
    env = clean_env(REMEDIATOR_RULES_FILE=str(rules))
    port = env["PORT"]
    with running_up(tmp_path, env, "--port", port) as base:
        secrets = json.loads((tmp_path / "var" / "secrets.json").read_text())
        redis_url = (tmp_path / "var" / "embedded-redis.url").read_text().strip()
        redis_port = int(redis_url.rsplit(":", 1)[1].split("/")[0])

        # When a webhook signed with the generated secret arrives
        document = payload("issue_created")
        document["data"]["issue"]["culprit"] = "app.database in acquire"
        body = encode(document)
        headers = sentry_headers("issue", body, secret=secrets["sentry_client_secret"])
        response = requests.post(f"{base}/sentry/webhook", data=body, headers=headers, timeout=5)
        assert response.status_code == 202, response.text
        assert response.elapsed.total_seconds() < 1.0, "over Sentry's 1-second budget"
        job_id = response.json()["jobs"][0]["id"]

        # Then it becomes a job that runs on the prod worker and succeeds
        auth = {"Authorization": f"Bearer {secrets['api_token']}"}
        job = wait_for_json(
            f"{base}/api/jobs/{job_id}",
            lambda j: j["status"] in ("succeeded", "failed"),
            "the job to finish",
            auth,
        )
        assert job["status"] == "succeeded", job
        assert job["worker"].startswith("prod@")
        # and /metrics adds up what the gunicorn worker and the Celery pool child counted
        metrics = requests.get(f"{base}/metrics", timeout=5)
        samples = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(metrics.text)
            for s in family.samples
        }
        labels = (("rule", "db"), ("script", "http-request"), ("tier", "prod"))
        assert samples[("remediator_webhooks_total", (("outcome", "accepted"), ("resource", "issue")))] == 1
        for status in ("queued", "running", "succeeded"):  # counted in the web, the worker, the worker
            assert samples[("remediator_jobs_total", tuple(sorted((*labels, ("status", status)))))] == 1
        assert (
            samples[("remediator_job_duration_seconds_count", (("script", "http-request"), ("tier", "prod")))]
            == 1
        )
        assert http_target.paths() == ["/fix/1170820242"]
        output = (tmp_path / "up.log").read_text()
        assert f"webhook:  POST http://127.0.0.1:{port}/sentry/webhook" in output
        # and up said when jobs could run, which /readyz confirms per tier
        said = f"ready:    web on port {port}, workers consuming prod, nonprod: jobs run now"
        wait_for(lambda: said in (tmp_path / "up.log").read_text(), 10, 0.2, "up to say ready")
        ready = requests.get(f"{base}/readyz", timeout=5)
        assert ready.status_code == 200
        assert {t: e["ready"] for t, e in ready.json()["tiers"].items()} == {"prod": True, "nonprod": True}
        assert secrets["sentry_client_secret"] in output
        assert (tmp_path / "var" / "logs" / "remediator.log").stat().st_size > 0
        assert (tmp_path / "var" / "gunicorn.ctl").exists()  # not in ~/.gunicorn, shared by all

    # And Ctrl-C stopped everything, the embedded Redis included
    assert refuses(int(port)), "web still listening after Ctrl-C"
    assert refuses(redis_port), "embedded Redis still running after Ctrl-C"
    assert not (tmp_path / "var" / "embedded-redis.url").exists()
    assert "embedded Redis stopped" in (tmp_path / "up.log").read_text()


def test_up_demo_closes_the_loop_and_links_the_webhook_trace_to_the_job(tmp_path: Path) -> None:
    # Given `remediator up --demo` with nothing configured
    env = clean_env(REMEDIATOR_DEMO_VERIFY_AFTER="1")
    with running_up(tmp_path, env, "--demo") as base:
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

        # Then the job runs, is verified, and the issue is resolved with comments on it
        def verified(job: dict[str, Any]) -> bool:
            assert job["status"] not in ("failed", "ineffective"), job
            return bool(job["status"] == "verified")

        job = wait_for_json(
            f"{base}/api/jobs/{job_id}",
            verified,
            "the job to be verified",
            {"Authorization": f"Bearer {token}"},
        )
        assert job["script"] == "restart-db-pool" and job["worker"].startswith("prod@")
        standin = json.loads((tmp_path / "var" / "sentry-standin.json").read_text())["url"]
        state = wait_for_json(
            f"{standin}/_standin/state",
            lambda s: len(s["comments"].get("4242", [])) >= 3,
            "three comments",
            timeout=30,
        )
        assert state["issues"]["4242"]["status"] == "resolved"
        texts = state["comments"]["4242"]
        assert "submitted" in texts[0] or "submitted" in texts[1]
        assert texts[-1].startswith("Verified")
        # the worker's comment links to the web process's port, not its own
        finished = next(t for t in texts if "succeeded in" in t)
        assert f"http://127.0.0.1:{env['PORT']}/jobs/{job_id}" in finished

        # And the webhook's request and the job share one trace in Sentry
        def both(items: list[dict[str, Any]]) -> bool:
            return len(transactions(items, job_id)) == 2

        items = wait_for_json(f"{standin}/_standin/envelopes", both, "both transactions", timeout=30)
        web_txn, job_txn = transactions(items, job_id)
        assert job_txn["contexts"]["trace"]["op"] == "batch.job"
        assert job_txn["contexts"]["trace"]["trace_id"] == web_txn["contexts"]["trace"]["trace_id"]

        # From another directory, the operator commands find this `up` and its demo.
        elsewhere = tmp_path / "elsewhere"
        listed = remediator(elsewhere, env, "jobs", "list")
        assert listed.returncode == 0 and job_id in listed.stdout, listed.stderr
        again = remediator(elsewhere, env, "demo", "send", "--issue-id", "4243")
        assert again.returncode == 0 and "webhook answered 202" in again.stdout, again.stderr
    assert refuses(int(env["PORT"]))
    output = (tmp_path / "up.log").read_text()
    assert "export REMEDIATOR_SENTRY_API_URL=http://127.0.0.1:" in output and "export SENTRY_DSN=" in output
    stopped = remediator(tmp_path / "elsewhere", env, "demo", "send")
    assert stopped.returncode == 1 and "no demo running" in stopped.stderr, stopped.stderr
    assert "Connection refused" not in stopped.stderr


def transactions(items: list[dict[str, Any]], job_id: str) -> list[dict[str, Any]]:
    """The webhook request's transaction and the job's, when both have arrived."""
    txns = [i["payload"] for i in items if i["type"] == "transaction"]
    web = [
        t
        for t in txns
        if t["contexts"]["trace"].get("op") == "http.server"
        and t.get("request", {}).get("url", "").endswith("/sentry/webhook")
    ]
    job = [t for t in txns if t.get("tags", {}).get("job_id") == job_id]
    return [web[0], job[0]] if web and job else []


def test_up_with_a_configured_broker_starts_no_embedded_redis(tmp_path: Path, broker_url: str):
    shared = broker_url.rsplit("/", 1)[0] + "/4"
    env = clean_env(REMEDIATOR_BROKER_URL=shared)
    with running_up(tmp_path, env) as base:
        assert requests.get(f"{base}/healthz", timeout=2).json()["broker"] == "ok"
        assert not (tmp_path / "var" / "embedded-redis.url").exists()
        assert not (tmp_path / "var" / "redis").exists()
    output = (tmp_path / "up.log").read_text()
    assert f"broker:   {shared} (REMEDIATOR_BROKER_URL; no embedded Redis)" in output
    assert "embedded Redis stopped" not in output


def test_demo_send_that_cannot_deliver_leaves_no_issue_behind(tmp_path: Path, standin) -> None:
    from remediator.errors import ConfigurationError
    from remediator.local.demo import STANDIN_FILE, send
    from remediator.settings import Settings

    # Given a demo stand-in but no web process listening where the webhook goes
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    (data_dir / STANDIN_FILE).write_text(json.dumps({"url": standin.url, "token": "t"}))
    settings = Settings(data_dir=data_dir)
    closed = f"http://127.0.0.1:{free_port()}"
    # When demo send fails to deliver
    with pytest.raises(ConfigurationError, match=f"could not deliver the webhook to {closed}/sentry/webhook"):
        send(settings, "secret", "777", "OperationalError", "db", url=closed)
    # Then the issue it created in the stand-in is gone again
    assert "777" not in standin.issues


def test_up_flower_runs_flower_on_the_same_broker_and_stops_it(tmp_path: Path) -> None:
    # Given `remediator up --flower` (Flower is in the test extra)
    flower_port = free_port()
    env = clean_env(REMEDIATOR_FLOWER_PORT=str(flower_port))
    with running_up(tmp_path, env, "--flower"):
        output = (tmp_path / "up.log").read_text()
        assert f"flower:   http://127.0.0.1:{flower_port}" in output

        # Then Flower's API answers and sees each tier's worker and declared queue
        def workers() -> list[str] | None:
            try:
                answer = requests.get(f"http://127.0.0.1:{flower_port}/api/workers?refresh=1", timeout=5)
            except requests.RequestException:
                return None
            names = sorted(answer.json()) if answer.ok else []
            return (
                names
                if any(n.startswith("nonprod@") for n in names) and any(n.startswith("prod@") for n in names)
                else None
            )

        names = wait_for(workers, timeout=60, interval=0.5, what="Flower to see both workers")
        assert len(names) == 2
        queues = requests.get(f"http://127.0.0.1:{flower_port}/api/queues/length", timeout=5).json()
        assert {"remediator.prod", "remediator.nonprod"} <= {q["name"] for q in queues["active_queues"]}
    # And Ctrl-C stopped Flower with the rest
    assert refuses(flower_port)


def test_up_flower_without_flower_installed_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from remediator.errors import ConfigurationError
    from remediator.local import up
    from remediator.settings import Settings

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "flower" else real(name, *a)
    )
    with pytest.raises(ConfigurationError, match=r"pip install 'remediator\[flower\]'"):
        up.flower_command(Settings())


def test_up_on_a_port_another_program_holds_says_so_and_starts_nothing(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "remediator", "up"],
            cwd=tmp_path,
            env=clean_env(PORT=str(port)),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"port {port} is in use (the web would listen there): set PORT (or --port)" in done.stderr
    assert "ready:" not in done.stdout and "broker:" not in done.stdout  # nothing was started
    assert not (tmp_path / "var" / "redis").exists()


def test_ready_asks_remediator_s_own_web_not_whatever_holds_the_port() -> None:
    from remediator.local.up import _our_web_answers

    with socket.socket() as squatter:  # answers TCP, and nothing else
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        assert _our_web_answers(squatter.getsockname()[1]) is False


def test_the_demo_rules_pass_rules_check_outside_the_demo(tmp_path: Path) -> None:
    from remediator.local.demo import DEMO_RULES
    from remediator.settings import Settings

    path = tmp_path / "demo-rules.yaml"
    path.write_text(
        DEMO_RULES.format(verify_after=Settings().demo_verify_after, service="http://127.0.0.1:1")
    )
    checked = remediator(tmp_path, clean_env(), "rules", "check", str(path))
    assert checked.returncode == 0, checked.stdout + checked.stderr
