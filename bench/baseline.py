"""The baselines: a minimal Flask endpoint that only calls apply_async of a no-op task, and
that bare task, on the same broker with the same worker settings as remediator."""

from __future__ import annotations

import os
import time

from celery import Celery
from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue

QUEUE = "bench.baseline"


def make_celery() -> Celery:
    """A bare Celery app with remediator's own celeryconfig (same broker, same settings)."""
    app = Celery("bench")
    app.config_from_object("remediator.worker.celeryconfig")
    app.conf.beat_schedule = {}
    return app


def _sdk() -> None:
    """With BENCH_BASELINE_SDK=1, the baseline itself runs sentry-sdk's Flask and Celery
    integrations, traced at 1.0 to SENTRY_DSN: what the SDK costs, without remediator."""
    if os.environ.get("BENCH_BASELINE_SDK") != "1":
        return
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.flask import FlaskIntegration

    sentry_sdk.init(
        dsn=os.environ["SENTRY_DSN"],
        traces_sample_rate=1.0,
        integrations=[FlaskIntegration(), CeleryIntegration(propagate_traces=True)],
    )


_sdk()
celery_app = make_celery()


@celery_app.task(name="bench.noop", acks_late=True)
def noop(sent_at: float | None = None) -> float:
    """Do nothing; return when it started (so dispatch latency can be measured)."""
    started = time.time()
    client = celery_app.backend.client
    if sent_at is not None:
        client.rpush("bench:baseline:latency", started - sent_at)
    else:
        client.rpush("bench:baseline:done", started)
    return started


def create_app() -> Flask:
    """The baseline web app: read the body, submit a no-op task, answer 202."""
    app = Flask("bench-baseline")

    @app.post("/sentry/webhook")
    def receive() -> ResponseReturnValue:
        request.get_data()
        result = noop.apply_async(queue=QUEUE, priority=9)
        return jsonify(status="accepted", id=result.id), 202

    return app
