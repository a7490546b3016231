"""`GET /metrics`: Prometheus's text format, open unless REMEDIATOR_METRICS_TOKEN is set."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from flask.typing import ResponseReturnValue
from prometheus_client import CONTENT_TYPE_LATEST

from remediator.metrics.exposition import RedisGauges, render
from remediator.web.auth import bearer_ok
from remediator.web.runtime import runtime

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def metrics() -> ResponseReturnValue:
    """Every process's counters and histograms, and the queue, approval and breaker gauges."""
    rt = runtime()
    if rt.settings.metrics_token and not bearer_ok(rt.settings.metrics_token):
        return jsonify(status="error", reason="missing or invalid bearer token"), 401
    gauges = RedisGauges(
        rt.store.client,
        rt.settings.tiers,
        [r.name for r in rt.rules.rules],
        spool_depth=rt.spool.__len__,
        ruleset=lambda: rt.rules,
    )
    return Response(render(gauges), mimetype=CONTENT_TYPE_LATEST)
