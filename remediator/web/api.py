"""`/api/*` (bearer token) and `/healthz` (open): what operators look at."""

from __future__ import annotations

import dataclasses
from typing import Any

from flask import Blueprint, abort, jsonify, request
from flask.typing import ResponseReturnValue

from remediator.dispatch import promote_rule, reenable_rule
from remediator.errors import JobNotFound
from remediator.infrastructure.broker import broker_view
from remediator.infrastructure.sentry_side import sentry_side
from remediator.jobs import JobStatus, controls
from remediator.people.roles import NEEDS, Role, allowed
from remediator.remediation_scripts import public_job as public
from remediator.trends.buckets import RANGES
from remediator.web import audit_hooks, infrastructure_view, issues_view, session, trends_view
from remediator.web.rules_overview import rules_overview
from remediator.web.runtime import runtime
from remediator.worker.health import health_report

bp = Blueprint("api", __name__)

MAX_LIST_LIMIT = 1000
"""Most jobs one listing returns."""


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """Liveness: 200 while the broker answers. The body also says, per tier, whether a
    worker consumes its queue (ready) and its last heartbeat, and which version of the
    rule file runs (with the error of a refused newer one)."""
    rt = runtime()
    alive, report = health_report(rt.store.client, rt.settings.tiers, rt.settings.heartbeat_interval)
    report["rules"] = rt.live.status()
    return jsonify(report), 200 if alive else 503


@bp.get("/readyz")
def readyz() -> ResponseReturnValue:
    """Readiness: 200 once every tier has a worker consuming its queue (jobs can run)."""
    rt = runtime()
    alive, report = health_report(rt.store.client, rt.settings.tiers, rt.settings.heartbeat_interval)
    return jsonify(report), 200 if alive and report["ready"] else 503


@bp.get("/api/jobs/<job_id>")
def show_job(job_id: str) -> ResponseReturnValue:
    """One job record."""
    job = runtime().store.get(job_id)
    if job is None:
        raise JobNotFound(f"no job {job_id}")
    return jsonify(public(job))


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
    try:
        page = runtime().store.page(
            status=status,
            tier=request.args.get("tier") or None,
            rule=request.args.get("rule") or None,
            limit=limit,
            cursor=request.args.get("cursor") or None,
        )
    except ValueError as exc:
        abort(400, description=str(exc))
    return jsonify(jobs=[public(j) for j in page.jobs], next_cursor=page.next_cursor)


def _actor() -> str:
    """Who decides: the person the bearer token belongs to (authorize.check let them in)."""
    who = session.principal()
    return who.name if who else "unknown"


@bp.post("/api/jobs/<job_id>/approve")
def approve_job(job_id: str) -> ResponseReturnValue:
    """Approve a job waiting for approval, as the token's person: it is queued (or, when its
    rule asks for two approvers, waits for the second)."""
    by = _actor()
    return jsonify(public(runtime().dispatcher.approve(job_id, by)))


@bp.post("/api/jobs/<job_id>/reject")
def reject_job(job_id: str) -> ResponseReturnValue:
    """Reject a job waiting for approval. Body: {"reason": optional}."""
    by = _actor()
    why = str((request.get_json(silent=True) or {}).get("reason") or "")[:500]
    return jsonify(public(runtime().dispatcher.reject(job_id, by, why)))


@bp.post("/api/jobs/<job_id>/release")
def release_job(job_id: str) -> ResponseReturnValue:
    """Queue a job held while paused."""
    by = _actor()
    return jsonify(public(runtime().dispatcher.release(job_id, by)))


@bp.post("/api/jobs/<job_id>/discard")
def discard_job(job_id: str) -> ResponseReturnValue:
    """Drop a job held while paused."""
    by = _actor()
    return jsonify(public(runtime().dispatcher.discard(job_id, by)))


@bp.get("/api/pause")
def pause_state() -> ResponseReturnValue:
    """Whether remediation is paused, and why."""
    reason = controls.paused(runtime().store.client)
    return jsonify(paused=reason is not None, reason=reason)


@bp.post("/api/pause")
def pause() -> ResponseReturnValue:
    """Pause remediation: every match is recorded as held. Body: {"reason"}."""
    by = _actor()
    why = str((request.get_json(silent=True) or {}).get("reason") or "")[:500]
    controls.pause(runtime().store.client, by, why)
    return pause_state()


@bp.post("/api/resume")
def resume() -> ResponseReturnValue:
    """Resume remediation (held jobs stay held until released or discarded)."""
    controls.resume(runtime().store.client, _actor())
    return pause_state()


@bp.post("/api/rules/<name>/enable")
def enable_rule(name: str) -> ResponseReturnValue:
    """Close a rule's circuit breaker."""
    by = _actor()
    rt = runtime()
    was_open = reenable_rule(rt.rules, rt.lifecycle, name, by)
    return jsonify(rule=name, enabled=rt.rules.get(name).enabled, was_disabled=was_open)


@bp.get("/api/rules")
def list_rules() -> ResponseReturnValue:
    """The loaded rules with their outcome counts (succeeded, failed, verified, ineffective)."""
    rt = runtime()
    return jsonify(rules=rules_overview(rt.rules, rt.store))


@bp.get("/api/trends")
def trends() -> ResponseReturnValue:
    """The hourly trends of `range` (24h or 7d): jobs by outcome, webhooks by outcome, the
    tiers' queue peaks, and per rule its verified and ineffective jobs and recovery times."""
    name = request.args.get("range") or "24h"
    if name not in RANGES:
        abort(400, description=f"unknown range {name!r}; known: " + ", ".join(RANGES))
    rt = runtime()
    return jsonify(trends_view.document(rt.store.client, rt.settings.tiers, name))


@bp.get("/api/issues")
def list_issues() -> ResponseReturnValue:
    """The Sentry issues seen, open first, then the latest: filtered by category, project,
    environment, outcome (the newest job's status, or `no job`) and `open=1`; paged."""
    rt = runtime()
    try:
        listing = rt.issues.page(
            issues_view.filters_from(request.args), 50, request.args.get("cursor") or None
        )
    except ValueError as exc:
        abort(400, description=str(exc))
    rows = issues_view.with_jobs(rt.store, listing.issues)
    return jsonify(
        issues=[issues_view.document(row) for row in rows],
        next_cursor=listing.next_cursor,
        searched=listing.searched,
    )


@bp.get("/api/issues/<issue_id>")
def show_issue(issue_id: str) -> ResponseReturnValue:
    """One issue as last heard of, with its newest jobs and its timeline."""
    rt = runtime()
    found = rt.issues.get(issue_id)
    if found is None:
        raise JobNotFound(f"no issue {issue_id} seen")
    [row] = issues_view.with_jobs(rt.store, [found])
    timeline = [
        {k: (v.id if k == "job" else v) for k, v in entry.items() if k != "note"}
        for entry in issues_view.story(rt.issues, rt.store, issue_id)
    ]
    return jsonify(issues_view.document(row) | {"timeline": timeline})


@bp.get("/api/infrastructure")
def infrastructure() -> ResponseReturnValue:
    """The broker (and Sentinel), the intake spool's depth, the rules' health URLs with
    their last hour of answers (add `probe=1` to probe them now) and, with `sentry=1`,
    Sentry's side."""
    rt = runtime()
    settings = rt.settings
    broker = broker_view(rt.store.client, settings.effective_broker_url(), settings.sentinel_master)
    rows = infrastructure_view.target_rows(rt, probe_now=request.args.get("probe") == "1")
    document: dict[str, Any] = {
        "broker": dataclasses.asdict(broker)
        | {"warnings": broker.warnings, "persistence": broker.persistence},
        "spool_depth": len(rt.spool),
        "targets": infrastructure_view.document(rows),
    }
    if request.args.get("sentry") == "1":
        document["sentry"] = dataclasses.asdict(sentry_side(settings))
    return jsonify(document)


@bp.post("/api/rules/<name>/promote")
def promote(name: str) -> ResponseReturnValue:
    """Promote a canary rule, as the token's person."""
    rt = runtime()
    by = _actor()
    before = promote_rule(rt.rules, rt.lifecycle, name, by)
    return jsonify(rule=name, stage="promoted", was=before, by=by)


@bp.post("/api/rules/reload")
def reload_rules() -> ResponseReturnValue:
    """Reload the rule file now (admins): the answer says the version running and, for a
    file that does not validate, why it was refused (the running rules stay)."""
    import hashlib

    from flask import g

    rt = runtime()
    g.reload_requested = True
    rt.live.request_reload()
    reloaded = rt.live.check()
    status = rt.live.status()
    if not reloaded:
        digest = hashlib.sha256(rt.live.path.read_bytes()).hexdigest() if rt.live.path.exists() else ""
        audit_hooks.detail(sha256=digest, rules=[r.name for r in rt.rules.rules])
        if status.get("last_error"):
            audit_hooks.refused(str(status["last_error"]))
    return jsonify(reloaded=reloaded, names=[r.name for r in rt.rules.rules], **status)


# -- who: the caller, and people (admins) -----------------------------------------------------


@bp.get("/api/whoami")
def whoami() -> ResponseReturnValue:
    """The person this token belongs to, their role, and what that role may do."""
    who = session.principal()
    assert who is not None  # authorize.check answered 401 otherwise
    return jsonify(
        name=who.name,
        role=who.role.label if who.role else None,
        via=who.via,
        may=[action for action in NEEDS if allowed(who.role, action)],
    )


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def _role(value: object) -> Role:
    try:
        return Role.parse(str(value or ""))
    except ValueError as exc:
        abort(400, description=str(exc))


@bp.get("/api/users")
def list_people() -> ResponseReturnValue:
    """Everyone, with their role, whether disabled, and their token's creation and last use."""
    return jsonify(users=[_public_person(p) for p in runtime().people.people()])


@bp.post("/api/users")
def add_person() -> ResponseReturnValue:
    """Add a person: body {"name", "role"}; the answer holds their token, shown this once."""
    body = _body()
    role = _role(body.get("role"))
    person, token = runtime().people.add(str(body.get("name") or ""), role, _actor())
    audit_hooks.detail(new_role=role.label)
    return jsonify(user=_public_person(person), token=token), 201


@bp.post("/api/users/<name>/role")
def set_role(name: str) -> ResponseReturnValue:
    """Change a person's role: body {"role"}; it applies at their next request."""
    role = _role(_body().get("role"))
    audit_hooks.detail(new_role=role.label)
    return jsonify(user=_public_person(runtime().people.set_role(name, role)))


@bp.post("/api/users/<name>/disable")
def disable_person(name: str) -> ResponseReturnValue:
    """Disable a person: their token and sessions stop working at once."""
    return jsonify(user=_public_person(runtime().people.disable(name)))


@bp.post("/api/users/<name>/token")
def issue_token(name: str) -> ResponseReturnValue:
    """A new personal token for `name` (the old one stops working), shown this once."""
    token = runtime().people.issue_token(name)
    return jsonify(user=_public_person(runtime().people.get(name) or {}), token=token)


def _public_person(person: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in person.items() if k not in ("token_id",)}
