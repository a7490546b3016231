"""`/api/*` (bearer token) and `/healthz` (open): what operators look at."""

from __future__ import annotations

import hmac
from typing import Any

from flask import Blueprint, abort, jsonify, request
from flask.typing import ResponseReturnValue

from remediator.app import runtime
from remediator.health import health_report
from remediator.jobs import Job, JobStatus
from remediator.scripts import redact

bp = Blueprint("api", __name__)

MAX_LIST_LIMIT = 1000
"""Most jobs one listing returns."""


@bp.before_request
def _authenticate() -> ResponseReturnValue | None:
    if not request.path.startswith("/api/"):
        return None
    expected = runtime().settings.api_token or ""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if (
        not expected
        or scheme.lower() != "bearer"
        or not hmac.compare_digest(token.strip().encode(), expected.encode())
    ):
        return jsonify(status="error", reason="missing or invalid bearer token"), 401
    return None


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """Broker reachability and each tier's last heartbeat."""
    rt = runtime()
    ok, report = health_report(rt.store.client, rt.settings.tiers)
    return jsonify(report), 200 if ok else 503


@bp.get("/api/jobs/<job_id>")
def show_job(job_id: str) -> ResponseReturnValue:
    """One job record."""
    job = runtime().store.get(job_id)
    if job is None:
        abort(404, description=f"no job {job_id}")
    return jsonify(_public(job))


@bp.get("/api/jobs")
def list_jobs() -> ResponseReturnValue:
    """Newest jobs first, filtered by status, tier and rule."""
    status = request.args.get("status") or None
    if status is not None and status not in {s.value for s in JobStatus}:
        abort(400, description=f"unknown status {status!r}; known: " + ", ".join(s.value for s in JobStatus))
    try:
        limit = int(request.args.get("limit", "50"))
    except ValueError:
        abort(400, description="limit must be a whole number")
    limit = max(1, min(limit, MAX_LIST_LIMIT))
    jobs = runtime().store.list(
        status=status,
        tier=request.args.get("tier") or None,
        rule=request.args.get("rule") or None,
        limit=limit,
    )
    return jsonify(jobs=[_public(j) for j in jobs])


@bp.get("/api/rules")
def list_rules() -> ResponseReturnValue:
    """The loaded rules with their outcome counts (succeeded, failed, verified, ineffective)."""
    rt = runtime()
    rules = rt.rules.rules
    stats = rt.store.rule_stats([r.name for r in rules])
    return jsonify(
        rules=[
            {
                "name": r.name,
                "description": r.description,
                "enabled": r.enabled,
                "script": r.job.script,
                "tier": r.job.tier,
                "priority_class": r.job.priority_class.value,
                "namespace": r.job.namespace,
                "verify_after": r.verify_after,
                "resolve_issue": r.resolve_issue,
                "outcomes": stats[r.name],
            }
            for r in rules
        ]
    )


def _public(job: Job) -> dict[str, Any]:
    """A job as the API shows it: params marked secret are [Filtered]."""
    document = job.model_dump(mode="json")
    document["params"] = redact(job.script, document["params"])
    return document
