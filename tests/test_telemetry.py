"""Telemetry without sentry-sdk's Celery integration: what still reaches Sentry from a worker
(in-process, against the Sentry stand-in over HTTP; the job's own transaction and failure are
proven end to end in test_sentry_loop)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import sentry_sdk
from celery import signals

from remediator import defaults
from remediator.errors import JobFailed
from remediator.sentry.telemetry import end_job, incoming_trace_headers, init_sentry, start_job
from remediator.settings import Settings
from remediator.tasks.heartbeat import heartbeat
from remediator.tasks.remediation import run_job
from remediator.testing import SentryStandIn
from remediator.testing.factories import make_job
from remediator.worker import celery_app  # noqa: F401  (connects the worker's signal handlers)
from tests.helpers import wait_for


def test_an_unexpected_task_error_is_sent_and_an_expected_one_is_not(standin: SentryStandIn) -> None:
    # Markers of this test's own errors: an event an earlier test's client sends late to the
    # shared stand-in is not one of them.
    marker = uuid.uuid4().hex
    assert init_sentry(Settings(sentry_dsn=standin.dsn), "worker")
    signals.task_failure.send(sender=run_job, task_id="t1", exception=JobFailed(f"a job's failure {marker}"))
    signals.task_failure.send(sender=heartbeat, task_id="t2", exception=RuntimeError(f"no broker {marker}"))
    sentry_sdk.flush(5)

    def ours() -> list[dict[str, Any]]:
        return [e for e in standin.errors() if marker in json.dumps(e["exception"])]

    # One transport thread sends the events in order: once the second is in, the first
    # would be too had it been sent.
    wait_for(lambda: any("no broker" in json.dumps(e["exception"]) for e in ours()), what="the task's error")
    (error,) = ours()
    assert error["exception"]["values"][-1]["value"] == f"no broker {marker}"
    assert error["tags"]["celery_task"] == defaults.HEARTBEAT_TASK


def test_a_job_transaction_continues_the_trace_its_message_carried(standin: SentryStandIn) -> None:
    assert init_sentry(Settings(sentry_dsn=standin.dsn), "worker")
    trace_id = "771a43a4192642f0b136d5159a501700"
    incoming_trace_headers({"sentry-trace": f"{trace_id}-b5f2c3d4e5f60718-1"})  # from task_prerun
    job = make_job(script="noop")
    start_job(job)
    end_job(ok=True)
    start_job(make_job(script="noop"))  # the next job, with no headers: a trace of its own
    end_job(ok=False)
    sentry_sdk.flush(5)
    txns = wait_for(
        lambda: len(standin.transactions()) == 2 and standin.transactions(), what="two transactions"
    )
    first, second = txns
    assert first["transaction"] == "Batch Job: noop" and first["tags"]["job_id"] == job.id
    assert first["contexts"]["trace"]["trace_id"] == trace_id
    assert first["contexts"]["trace"]["status"] == "ok"
    assert second["contexts"]["trace"]["trace_id"] != trace_id
    assert second["contexts"]["trace"]["status"] == "internal_error"
