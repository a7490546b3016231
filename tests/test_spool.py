"""Durable intake: webhooks that arrive while the broker is down are kept and submitted,
in order and once each, when it comes back."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from remediator.jobs import JobStatus, JobStore, redis_client
from remediator.local.embedded_redis import EmbeddedRedis, free_port
from tests.helpers import encode, payload, sentry_headers, wait_for

pytestmark = pytest.mark.slow

RULES = """
rules:
  - name: fix
    match: {culprit: {contains: database}}
    job: {script: http-request, tier: nonprod, class: C, params: {url: "http://127.0.0.1:9/{{ issue_id }}"}}
"""


def test_webhooks_during_a_broker_outage_are_spooled_then_submitted_in_order_once(
    make_app, tmp_path: Path
) -> None:
    port = free_port()
    broker = EmbeddedRedis(tmp_path / "redis", port=port, persist=False).start()
    url = broker.url
    app = make_app(RULES, broker=url, spool_drain_interval=0.2)
    client = app.test_client()
    # Given a broker that goes down
    broker.stop()
    # When five verified webhooks arrive (one delivered twice, as Sentry's retry would)
    ids = [str(7000 + n) for n in range(5)]
    spooled = []
    for issue_id in [*ids, ids[2]]:
        document = payload("issue_created")
        document["data"]["issue"].update(id=issue_id, culprit="database")
        body = encode(document)
        started = time.monotonic()
        response = client.post("/sentry/webhook", data=body, headers=sentry_headers("issue", body))
        assert time.monotonic() - started < 1.0, "over Sentry's 1-second budget"
        assert response.status_code == 202 and response.get_json()["status"] == "accepted"
        spooled.append(response.get_json()["spooled"])
    assert spooled == sorted(spooled)
    assert len(app.extensions["remediator"].spool) == 6
    # Then, once the broker is back, each becomes a job, in arrival order, none twice
    broker = EmbeddedRedis(tmp_path / "redis", port=port, persist=False).start()
    try:
        spool = app.extensions["remediator"].spool
        wait_for(lambda: len(spool) == 0, timeout=20, interval=0.1, what="the spool to drain")
        jobs = JobStore(redis_client(url)).list(limit=100)
        real = sorted((j for j in jobs if j.status == JobStatus.QUEUED), key=lambda j: j.created_at)
        assert [j.sentry_issue_id for j in real] == ids
        assert [j.status for j in jobs].count(JobStatus.DUPLICATE) == 1
    finally:
        broker.stop()


OPEN_AT = """
import sys, time
from pathlib import Path
from remediator.intake.spool import Spool
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
Spool(Path(sys.argv[1]))
"""


def test_processes_opening_a_new_spool_at_once_all_succeed(tmp_path) -> None:
    # gunicorn's workers create the spool together; once one died of "database is locked".
    for round_ in range(4):
        at = time.time() + 1.5  # every process has imported by then
        path = tmp_path / f"spool-{round_}.sqlite3"
        procs = [
            subprocess.Popen([sys.executable, "-c", OPEN_AT, str(path), str(at)], stderr=subprocess.PIPE)
            for _ in range(6)
        ]
        errors = [proc.communicate(timeout=30)[1].decode() for proc in procs]
        assert [e for e in errors if e] == [], f"round {round_}"
