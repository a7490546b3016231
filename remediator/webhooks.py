"""`POST /sentry/webhook`: verify, parse, match, submit. A thin adapter over the pure parts."""

from __future__ import annotations

import logging
import time

import redis
from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from remediator.app import runtime
from remediator.defaults import CANCELLING_ACTIONS, SENTRY_RESOURCES_IGNORED
from remediator.errors import BrokerUnavailable, PayloadError
from remediator.jobs import JobStatus
from remediator.payloads import MODELS, decode_json, parse_webhook, subject_of
from remediator.rules import plan
from remediator.signature import verify

log = logging.getLogger(__name__)

bp = Blueprint("webhooks", __name__)


def fresh(stamp: str, window: float) -> bool:
    """Whether a Sentry-Hook-Timestamp (unix seconds) is within window of now."""
    try:
        return abs(time.time() - float(stamp)) <= window
    except ValueError:
        return False


def _ignored(reason: str) -> ResponseReturnValue:
    return jsonify(status="ignored", reason=reason), 200


@bp.post("/sentry/webhook")
def receive() -> ResponseReturnValue:
    """Answer Sentry within its 1-second budget: 202 with the submitted jobs, or why not."""
    rt = runtime()
    body = request.get_data(cache=False)
    secret = rt.settings.sentry_client_secret or ""
    if not verify(secret, body, request.headers.get("Sentry-Hook-Signature")):
        log.warning("webhook %s: bad or missing signature", request.headers.get("Request-ID"))
        return jsonify(status="error", reason="invalid or missing Sentry-Hook-Signature"), 401

    stamp = request.headers.get("Sentry-Hook-Timestamp", "")
    if not fresh(stamp, rt.settings.replay_window_seconds):
        log.warning(
            "webhook %s: timestamp %r outside the replay window", request.headers.get("Request-ID"), stamp
        )
        return jsonify(status="error", reason="missing, stale or future Sentry-Hook-Timestamp"), 401

    resource = request.headers.get("Sentry-Hook-Resource", "").strip()
    if not resource:
        return jsonify(status="error", reason="missing Sentry-Hook-Resource header"), 400
    if resource in SENTRY_RESOURCES_IGNORED:
        return _ignored(f"resource '{resource}' is not acted on")
    if resource not in MODELS:
        return _ignored(f"unknown resource '{resource}'")

    try:
        subject = subject_of(resource, parse_webhook(resource, decode_json(body)))
    except PayloadError as exc:
        return jsonify(status="error", reason=str(exc)), 400

    app_id = rt.settings.sentry_app_id
    if app_id and subject.actor_type == "application" and subject.actor_id == app_id:
        return _ignored("caused by remediator's own API call")

    try:
        cancelled = []
        if resource == "issue" and subject.action in CANCELLING_ACTIONS and subject.issue_id:
            reason = f"issue {subject.action} in Sentry before the job started"
            cancelled = rt.dispatcher.cancel_for_issue(subject.issue_id, reason)
        specs = plan(rt.rules, subject)
        if not specs and cancelled:
            return jsonify(status="cancelled", cancelled=cancelled), 200
        if not specs:
            return _ignored(f"no rule matched {resource}.{subject.action}")
        jobs = [rt.dispatcher.submit(spec, subject) for spec in specs]
    except (BrokerUnavailable, redis.RedisError) as exc:
        reason = str(exc) if isinstance(exc, BrokerUnavailable) else f"broker unavailable: {exc}"
        return jsonify(status="error", reason=reason), 503
    log.info("webhook %s.%s: %s", resource, subject.action, [(j.id, j.status.value) for j in jobs])
    if all(j.status == JobStatus.DUPLICATE for j in jobs):
        return jsonify(status="duplicate", job=jobs[0].related_job), 200
    return jsonify(status="accepted", jobs=[j.summary() for j in jobs]), 202
