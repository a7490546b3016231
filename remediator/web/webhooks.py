"""`POST /sentry/webhook`: verify, then hand the body to the intake (or the spool)."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from remediator.defaults import SENTRY_RESOURCES_IGNORED
from remediator.errors import BrokerUnavailable
from remediator.intake.process import error
from remediator.intake.signature import fresh, verify
from remediator.metrics.instruments import WEBHOOKS
from remediator.payloads import MODELS
from remediator.trends.buckets import webhook_outcome
from remediator.web.runtime import runtime

log = logging.getLogger(__name__)

bp = Blueprint("webhooks", __name__)


@bp.post("/sentry/webhook")
def receive() -> ResponseReturnValue:
    """Answer Sentry within its 1-second budget: 202 with the submitted jobs, or why not."""
    document, code = _receive()
    resource = request.headers.get("Sentry-Hook-Resource", "").strip()
    known = resource in MODELS or resource in SENTRY_RESOURCES_IGNORED
    outcome = "spooled" if "spooled" in document else str(document.get("status", "error"))
    # Only names Sentry uses become label values: header text must not grow the series.
    WEBHOOKS.labels(resource if known else "other", outcome if code != 401 else "unauthorized").inc()
    runtime().webhook_counts.add(webhook_outcome(outcome, code))
    return jsonify(document), code


def _receive() -> tuple[dict[str, Any], int]:
    rt = runtime()
    body = request.get_data(cache=False)
    request_id = request.headers.get("Request-ID")
    secret = rt.settings.sentry_client_secret or ""
    if not verify(secret, body, request.headers.get("Sentry-Hook-Signature")):
        log.warning("webhook %s: bad or missing signature", request_id)
        return error("invalid or missing Sentry-Hook-Signature", 401)
    stamp = request.headers.get("Sentry-Hook-Timestamp", "")
    if not fresh(stamp, rt.settings.replay_window_seconds):
        log.warning("webhook %s: timestamp %r outside the replay window", request_id, stamp)
        return error("missing, stale or future Sentry-Hook-Timestamp", 401)
    resource = request.headers.get("Sentry-Hook-Resource", "").strip()
    try:
        document, code = rt.intake.process(resource, body)
    except BrokerUnavailable as exc:
        # Verified and well-formed: it must not be lost. Keep it and say we have it.
        spool_id = rt.spool.put(resource, body, request_id)
        rt.drainer.ensure_running()
        log.warning("webhook %s: %s; spooled as #%d", request_id, exc, spool_id)
        document, code = {"status": "accepted", "spooled": spool_id, "reason": str(exc)}, 202
    return document, code
