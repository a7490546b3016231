"""The Flask app factory: `gunicorn 'remediator.app:create_app()'`."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from celery import Celery
from flask import Flask, current_app, jsonify
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from remediator.dispatch import Dispatcher, dispatcher_for
from remediator.jobs import JobStore, redis_client
from remediator.rules import RuleSet, load_rules
from remediator.scripts import registry
from remediator.sentry.telemetry import init_sentry
from remediator.settings import Settings, get_settings
from remediator.spool import Drainer, Spool

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """What the web process holds for its lifetime."""

    settings: Settings
    rules: RuleSet
    store: JobStore
    dispatcher: Dispatcher
    spool: Spool
    drainer: Drainer


def runtime() -> Runtime:
    """The current app's runtime."""
    rt: Runtime = current_app.extensions["remediator"]
    return rt


def create_app(settings: Settings | None = None, celery: Celery | None = None) -> Flask:
    """Build the web app; missing settings or invalid rules fail here, at start."""
    settings = settings or get_settings()
    settings.require("sentry_client_secret", "api_token")
    rules = load_rules(settings.rules_file, scripts=registry(), tiers=settings.tiers)
    broker_url = settings.effective_broker_url()
    if celery is None:
        from remediator.celery_app import create_celery

        celery = create_celery(broker_url)
    # Fail fast when Redis is down: the webhook must answer (spooled) within Sentry's 1 s.
    store = JobStore(redis_client(broker_url, connect_timeout=0.3), settings.job_retention_days)
    init_sentry(settings, "web")

    app = Flask("remediator")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    dispatcher = dispatcher_for(settings, celery, store)
    spool = Spool(settings.data_dir / "spool.sqlite3")
    built: list[Runtime] = []

    def resubmit(resource: str, body: bytes) -> None:
        from remediator.webhooks import process

        process(built[0], resource, body)

    drainer = Drainer(spool, resubmit, settings.spool_drain_interval)
    runtime_ = Runtime(settings, rules, store, dispatcher, spool, drainer)
    built.append(runtime_)
    app.extensions["remediator"] = runtime_
    if len(spool):
        runtime_.drainer.ensure_running()

    from remediator import api, webhooks

    app.register_blueprint(webhooks.bp)
    app.register_blueprint(api.bp)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> ResponseReturnValue:
        return jsonify(status="error", reason=exc.description), exc.code or 500

    log.info("remediator web: %d rules from %s", len(rules.rules), settings.rules_file)
    return app
