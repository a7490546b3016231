"""Redis failover under Sentinel, with real redis-server and Sentinel processes: the master
is killed in the middle of a webhook storm; every accepted webhook becomes a record after
the failover (the spool bridges the gap), no job runs twice, and the workers and beat
reconnect by themselves."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server

from remediator.jobs import JobStatus, JobStore, redis_client
from remediator.jobs.keys import heartbeat_key
from tests.helpers import encode, payload, running_worker, sentry_headers, wait_for
from tests.redis_ha import MASTER_NAME, SentinelGroup

pytestmark = pytest.mark.slow

STORM = 240
"""Webhooks in the storm; the master dies after a third of them."""
RATE = 40.0
"""Webhooks per second."""


@pytest.fixture
def group(tmp_path: Path) -> Iterator[SentinelGroup]:
    ha = SentinelGroup(tmp_path / "redis").start()
    yield ha
    ha.stop()


def job_messages_left(client: Any, show: int = 0) -> list[str]:
    """The jobs' messages still waiting on the nonprod lists or unacknowledged (kombu's
    `unacked` hash), each as where it is and its job id: only such a message could run a job
    a second time. `show` caps how many are described (0: all)."""
    found = [
        (k.decode() if isinstance(k, bytes) else k, m)
        for k in client.scan_iter("remediator.nonprod*")
        if client.type(k) in (b"list", "list")
        for m in client.lrange(k, 0, -1)
    ]
    found += [("unacked", m) for m in client.hvals("unacked")]
    left = []
    for where, message in found:
        text = message.decode(errors="replace") if isinstance(message, bytes) else message
        if "remediator.run_job" in text:
            job = re.search(r'"id": ?"([^"]+)"', text)
            left.append(f"{where}: {job.group(1) if job else text[:120]}")
    return left[:show] if show else left


def all_succeeded(store: JobStore) -> bool:
    return all(j.status is JobStatus.SUCCEEDED for j in store.list(limit=1000) if j.rule == "storm")


def storm(base: str, answers: list[tuple[str, int, Any]], killed: threading.Event, kill: Any) -> None:
    session = requests.Session()
    for i in range(STORM):
        if i == STORM // 3:
            kill()
            killed.set()
        issue = f"storm-{i}"
        document = payload("issue_created")
        document["data"]["issue"].update(id=issue, title=f"storm {i}")
        body = encode(document)
        started = time.monotonic()
        answer = session.post(
            f"{base}/sentry/webhook", data=body, headers=sentry_headers("issue", body), timeout=10
        )
        answers.append((issue, answer.status_code, answer.json() | {"_took": time.monotonic() - started}))
        time.sleep(1 / RATE)


@pytest.mark.timeout(300)
def test_a_master_killed_mid_storm_loses_no_webhook_and_runs_no_job_twice(
    group: SentinelGroup, make_app: Any, tmp_path: Path, log_dir: Path, http_target: Any, standin: Any
) -> None:
    for i in range(STORM):  # the issues exist in Sentry: comments and verifications go through
        standin.add_issue(f"storm-{i}", title=f"storm {i}")
    rules = f"""
rules:
  - name: storm
    verify_after: 60      # each success leaves a verification waiting in the worker (unacked)
    match: {{title: {{contains: storm}}}}
    job:
      script: http-request
      tier: nonprod
      class: C
      params: {{url: "{http_target.url}/ran/{{{{ issue_id }}}}", method: GET}}
"""
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(rules)
    env = {
        "REMEDIATOR_BROKER_URL": group.url,
        "REMEDIATOR_SENTINEL_MASTER": MASTER_NAME,
        "REMEDIATOR_RULES_FILE": str(rules_file),
        "REMEDIATOR_HEARTBEAT_INTERVAL": "1",
        # A record whose message the dead master took with it is requeued after this long.
        "REMEDIATOR_RECONCILE_AFTER": "5",
        "SENTRY_DSN": "",
    }
    app = make_app(rules, broker=group.url, sentinel_master=MASTER_NAME, spool_drain_interval=0.3)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    beat_log = open(tmp_path / "beat.log", "wb")  # noqa: SIM115 - the process writes it
    beat = subprocess.Popen(
        [sys.executable, "-m", "remediator", "beat"],
        env={**os.environ, **env},
        cwd=tmp_path,
        stdout=beat_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    answers: list[tuple[str, int, Any]] = []
    killed = threading.Event()
    try:
        with running_worker("nonprod", log_dir, env=env, name="nonprod-failover"):
            store = JobStore(redis_client(group.url, master_name=MASTER_NAME))
            before = wait_for(
                lambda: store.client.get(heartbeat_key("nonprod")), 20, 0.2, "a first heartbeat"
            )
            sender = threading.Thread(target=storm, args=(base, answers, killed, group.kill_master))
            sender.start()
            killed.wait(30)
            took = group.wait_for_failover()
            sender.join(60)
            assert len(answers) == STORM
            refused = [(issue, status) for issue, status, _ in answers if status != 202]
            assert refused == [], refused  # every webhook accepted, recorded or spooled
            spooled = sum(1 for _, _, body in answers if "spooled" in body)
            assert spooled > 0  # the master really was gone while webhooks arrived
            slowest = max(body["_took"] for _, _, body in answers)
            assert slowest < 1.0  # every answer inside Sentry's one-second budget

            def every_job_ran() -> bool:
                ran = {p.rsplit("/", 1)[-1] for p in http_target.paths() if p.startswith("/ran/")}
                return len(ran) >= STORM

            try:
                wait_for(every_job_ran, 90, 0.5, "every accepted webhook's job to run")
            except AssertionError:
                ran = {p.rsplit("/", 1)[-1] for p in http_target.paths() if p.startswith("/ran/")}
                missing = sorted({i for i, _, _ in answers} - ran)
                states = {j.sentry_issue_id: j.status.value for j in store.list(limit=1000)}
                raise AssertionError(
                    f"{len(missing)} never ran: {[(i, states.get(i)) for i in missing[:20]]}; "
                    f"spooled {spooled}; spool left {len(app.extensions['remediator'].spool)}"
                ) from None
            try:
                wait_for(
                    lambda: all_succeeded(store) and not job_messages_left(store.client),
                    30,
                    0.5,
                    "every record final and no job message left on the broker (none can run again)",
                )
            except AssertionError:
                unfinished = [
                    (j.sentry_issue_id, j.status.value)
                    for j in store.list(limit=1000)
                    if j.rule == "storm" and j.status is not JobStatus.SUCCEEDED
                ]
                left = job_messages_left(store.client, 5)
                raise AssertionError(f"records not final: {unfinished[:20]}; messages left: {left}") from None
            runs = Counter(p.rsplit("/", 1)[-1] for p in http_target.paths() if p.startswith("/ran/"))
            assert {issue for issue, n in runs.items() if n > 1} == set()  # no job ran twice
            assert set(runs) == {issue for issue, _, _ in answers}
            records = [j for j in store.list(limit=1000) if j.rule == "storm"]
            per_issue = Counter(j.sentry_issue_id for j in records if j.status is not JobStatus.DUPLICATE)
            assert len(per_issue) == STORM and max(per_issue.values()) == 1
            wait_for(
                lambda: all(
                    j.status is JobStatus.SUCCEEDED for j in store.list(limit=1000) if j.rule == "storm"
                ),
                30,
                0.5,
                "every record to say succeeded",
            )
            # Beat and the worker reconnected on their own: heartbeats resume on the new master.
            wait_for(
                lambda: (now := store.client.get(heartbeat_key("nonprod"))) and now != before,
                30,
                0.5,
                "a heartbeat after the failover",
            )
            print(
                f"failover took {took:.1f} s; {spooled} of {STORM} webhooks spooled;"
                f" slowest answer {slowest:.2f} s"
            )
    finally:
        server.shutdown()
        beat.terminate()
        beat.wait(20)
        beat_log.close()
