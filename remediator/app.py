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

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """What the web process holds for its lifetime."""

    settings: Settings
    rules: RuleSet
    store: JobStore
    dispatcher: Dispatcher


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
    store = JobStore(redis_client(broker_url), settings.job_retention_days)
    init_sentry(settings, "web")

    app = Flask("remediator")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    dispatcher = dispatcher_for(settings, celery, store)
    app.extensions["remediator"] = Runtime(settings, rules, store, dispatcher)

    from remediator import api, webhooks

    app.register_blueprint(webhooks.bp)
    app.register_blueprint(api.bp)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> ResponseReturnValue:
        return jsonify(status="error", reason=exc.description), exc.code or 500

    log.info("remediator web: %d rules from %s", len(rules.rules), settings.rules_file)
    return app
