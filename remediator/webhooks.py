"""`POST /sentry/webhook`: verify, parse, match, submit. A thin adapter over the pure parts."""

from __future__ import annotations

import logging
import time
from typing import Any

import redis
from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from remediator.app import Runtime, runtime
from remediator.defaults import CANCELLING_ACTIONS, SENTRY_RESOURCES_IGNORED
from remediator.errors import BrokerUnavailable, PayloadError
from remediator.jobs import JobStatus
from remediator.payloads import MODELS, decode_json, parse_webhook, subject_of
from remediator.rules import plan
from remediator.signature import verify

log = logging.getLogger(__name__)

bp = Blueprint("webhooks", __name__)

Answer = tuple[dict[str, Any], int]


def fresh(stamp: str, window: float) -> bool:
    """Whether a Sentry-Hook-Timestamp (unix seconds) is within window of now."""
    try:
        return abs(time.time() - float(stamp)) <= window
    except ValueError:
        return False


def _error(reason: str, code: int) -> Answer:
    return {"status": "error", "reason": reason}, code


def _ignored(reason: str) -> Answer:
    return {"status": "ignored", "reason": reason}, 200


@bp.post("/sentry/webhook")
def receive() -> ResponseReturnValue:
    """Answer Sentry within its 1-second budget: 202 with the submitted jobs, or why not."""
    rt = runtime()
    body = request.get_data(cache=False)
    request_id = request.headers.get("Request-ID")
    secret = rt.settings.sentry_client_secret or ""
    if not verify(secret, body, request.headers.get("Sentry-Hook-Signature")):
        log.warning("webhook %s: bad or missing signature", request_id)
        document, code = _error("invalid or missing Sentry-Hook-Signature", 401)
        return jsonify(document), code
    stamp = request.headers.get("Sentry-Hook-Timestamp", "")
    if not fresh(stamp, rt.settings.replay_window_seconds):
        log.warning("webhook %s: timestamp %r outside the replay window", request_id, stamp)
        document, code = _error("missing, stale or future Sentry-Hook-Timestamp", 401)
        return jsonify(document), code
    resource = request.headers.get("Sentry-Hook-Resource", "").strip()
    try:
        document, code = process(rt, resource, body)
    except BrokerUnavailable as exc:
        # Verified and well-formed: it must not be lost. Keep it and say we have it.
        spool_id = rt.spool.put(resource, body, request_id)
        rt.drainer.ensure_running()
        log.warning("webhook %s: %s; spooled as #%d", request_id, exc, spool_id)
        document, code = {"status": "accepted", "spooled": spool_id, "reason": str(exc)}, 202
    return jsonify(document), code


def process(rt: Runtime, resource: str, body: bytes) -> Answer:
    """Everything after the signature check; raises BrokerUnavailable when Redis is down."""
    if not resource:
        return _error("missing Sentry-Hook-Resource header", 400)
    if resource in SENTRY_RESOURCES_IGNORED:
        return _ignored(f"resource '{resource}' is not acted on")
    if resource not in MODELS:
        return _ignored(f"unknown resource '{resource}'")
    try:
        subject = subject_of(resource, parse_webhook(resource, decode_json(body)))
    except PayloadError as exc:
        return _error(str(exc), 400)

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
            return {"status": "cancelled", "cancelled": cancelled}, 200
        if not specs:
            return _ignored(f"no rule matched {resource}.{subject.action}")
        jobs = [rt.dispatcher.submit(spec, subject) for spec in specs]
    except redis.RedisError as exc:
        raise BrokerUnavailable(f"broker unavailable: {exc}") from exc
    log.info("webhook %s.%s: %s", resource, subject.action, [(j.id, j.status.value) for j in jobs])
    if all(j.status == JobStatus.DUPLICATE for j in jobs):
        return {"status": "duplicate", "job": jobs[0].related_job}, 200
    return {"status": "accepted", "jobs": [j.summary() for j in jobs]}, 202
