"""The Flask app factory: `gunicorn 'remediator.web.app:create_app()'`."""

from __future__ import annotations

import functools
import logging
import os
import signal

from celery import Celery
from flask import Flask, jsonify
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from remediator.audit.trail import AuditTrail
from remediator.defaults import queue_for
from remediator.dispatch import dispatcher_for
from remediator.errors import JobNotFound, JobStateError, RemediatorError, RuleNotFound, RuleStateError
from remediator.intake.deferral import Deferral
from remediator.intake.process import Intake
from remediator.intake.spool import Drainer, Spool
from remediator.issue_log.store import IssueLog
from remediator.jobs import JobStore, redis_client
from remediator.listeners import build_lifecycle
from remediator.live_rules import KEEP_LAST_GOOD_ENV, LiveRules, last_good_path
from remediator.people.directory import Directory, PersonError
from remediator.people.sessions import Sessions
from remediator.people.throttle import SignInThrottle
from remediator.sentry.lookups import webhook_lookups
from remediator.sentry.telemetry import init_sentry
from remediator.settings import Settings, get_settings
from remediator.trends.store import WebhookCounts
from remediator.web import api, audit_hooks, authorize, dashboard, metrics, oidc, pane, session, webhooks
from remediator.web.runtime import EXTENSION, Runtime

log = logging.getLogger(__name__)

_ROUTES_ON_THE_DASHBOARD = (pane.issues, pane.issue, pane.infrastructure, pane.trends, pane.audit)
"""The pane's views are routes of the dashboard's blueprint (imported for that)."""

HTTP_STATUS: tuple[tuple[type[RemediatorError], int], ...] = (
    (JobNotFound, 404),
    (RuleNotFound, 404),
    (JobStateError, 409),
    (RuleStateError, 409),
    (PersonError, 400),
)
"""The HTTP status of each error an API call may raise on purpose (else 500)."""


def status_for(exc: RemediatorError) -> int:
    """The HTTP status for an error, by its type."""
    return next((code for kind, code in HTTP_STATUS if isinstance(exc, kind)), 500)


def create_app(settings: Settings | None = None, celery: Celery | None = None) -> Flask:
    """Build the web app; missing settings or invalid rules fail here, at start."""
    settings = settings or get_settings()
    settings.require("sentry_client_secret", "api_token")
    # Under `remediator web`, a worker the master starts later (a reload, a recycled worker)
    # keeps the rules its siblings ran when the file has turned invalid since.
    keep = last_good_path(settings, os.getppid()) if os.environ.get(KEEP_LAST_GOOD_ENV) else None
    live = LiveRules(settings, keep_last_good=keep)
    if keep is not None:
        signal.signal(signal.SIGHUP, live.request_reload)
    broker_url = settings.effective_broker_url()
    if celery is None:
        # Imported here: the Celery app reads its configuration when it is imported.
        from remediator.worker.celery_app import create_celery

        celery = create_celery(broker_url, settings.sentinel_master)
    # Fail fast when Redis is down: the webhook must answer (spooled) within Sentry's 1 s.
    store = JobStore(
        redis_client(broker_url, connect_timeout=0.3, master_name=settings.sentinel_master),
        settings.job_retention_days,
    )
    init_sentry(settings, "web")

    app = Flask("remediator", static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    lifecycle = build_lifecycle(settings, store, celery, live)
    dispatcher = dispatcher_for(settings, celery, lifecycle)
    spool = Spool(settings.data_dir / "spool.sqlite3")
    lookups = webhook_lookups(settings)
    enrich = lookups.enrich if lookups else None
    defer = Deferral(celery, queue_for(settings.tiers[0])) if lookups else None
    issues = IssueLog(store.client, settings.job_retention_days, settings.sentry_app_id)
    intake = Intake(live, dispatcher, settings.sentry_app_id, enrich, defer, issues.seen)
    drainer = Drainer(spool, intake.process, settings.spool_drain_interval)
    app.extensions[EXTENSION] = Runtime(
        settings,
        live,
        store,
        lifecycle,
        dispatcher,
        intake,
        spool,
        drainer,
        celery,
        issues,
        WebhookCounts(store.client),
        AuditTrail(store.client, settings.audit_retention_days),
        Directory(store.client),
        Sessions(store.client, settings.session_hours * 3600, settings.session_idle_minutes * 60),
        SignInThrottle(store.client, settings.signin_max_failures, settings.signin_failure_window),
    )
    live.on_reload = functools.partial(audit_hooks.rules_reloaded, app.extensions[EXTENSION].audit)
    if len(spool):
        drainer.ensure_running()

    app.register_blueprint(webhooks.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(metrics.bp)
    app.register_blueprint(dashboard.bp)  # with pane's routes
    session.configure(app, settings)
    oidc.configure(app, settings, store.client)
    app.before_request(audit_hooks.remember_actor)  # first: a refused request is audited too
    app.before_request(authorize.check)
    app.after_request(audit_hooks.record)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> ResponseReturnValue:
        return jsonify(status="error", reason=exc.description), exc.code or 500

    @app.errorhandler(RemediatorError)
    def _remediator_error(exc: RemediatorError) -> ResponseReturnValue:
        return jsonify(status="error", reason=str(exc)), status_for(exc)

    log.info(
        "remediator web: %d rules from %s (version %s)", len(live.current.rules), live.path, live.version
    )
    return app
