"""The operator console: server-rendered pages (Jinja, autoescaped) kept live by htmx polls.

Every page reads what the API reads; every form posts to a route here that calls the same
dispatcher and switches as the API and the CLI, with the signed-in operator as the actor.
A poll sends the events counter it last saw (`since`); while no job event was recorded the
answer is an empty 204, so an open dashboard costs one Redis read every two seconds.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException, NotFound

from remediator.defaults import RUN_JOB_TASK
from remediator.dispatch import promote_rule, reenable_rule
from remediator.errors import JobNotFound, RemediatorError
from remediator.jobs import Job, JobStatus, controls
from remediator.jobs.keys import SUGGESTIONS_KEY
from remediator.remediation_scripts import public_job
from remediator.web import audit_hooks, authorize, oidc, present, session
from remediator.web.rules_overview import rules_overview
from remediator.web.runtime import runtime
from remediator.worker.tiers import inspect_workers, tier_views

bp = Blueprint(
    "dashboard",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/assets",
)

PAGE_SIZE = 50
"""Jobs per page of the jobs list."""

QUEUE_SIZE = 100
"""Most jobs the approvals page lists per section."""

RELATED_SHOWN = 20
"""Most jobs of the same Sentry issue a job's page lists."""

SECURITY_HEADERS = {
    # Scripts and styles only from this server: a title that slipped past escaping still
    # could not run. htmx is configured (base.html) to need no inline style or eval.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _settings() -> Any:
    return runtime().settings


def is_live() -> bool:
    """Whether the request is one of htmx's polls (it wants the fragment)."""
    return request.headers.get("HX-Request") == "true"


@bp.after_request
def _headers(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    return response


@bp.context_processor
def _common() -> dict[str, Any]:
    settings = _settings()
    return {
        "who": session.principal(),
        "can": authorize.can,
        "csrf_token": session.csrf_token,
        "csrf_field": session.CSRF_FIELD,
        "flower_url": settings.flower_url,
        "present": present,
        "sentry_issue_url": settings.sentry_issue_url,
        "now": time.time(),
        "paused": controls.paused(runtime().store.client),
    }


for _name in ("ago", "span", "stamp", "iso"):
    # Template filters: `{{ job.created_at|ago }}`, `{{ job.duration|span }}`...
    bp.add_app_template_filter(getattr(present, _name), _name)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> ResponseReturnValue:
    return render_template("error.html", code=exc.code, reason=exc.description), exc.code or 500


@bp.errorhandler(JobNotFound)
def _no_job(exc: JobNotFound) -> ResponseReturnValue:
    return render_template("error.html", code=404, reason=str(exc)), 404


# -- signing in ------------------------------------------------------------------------


@bp.get("/")
def home() -> ResponseReturnValue:
    """The dashboard starts at the jobs list."""
    return redirect(url_for(".jobs"))


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """The sign-in form: a personal token (or the bootstrap token), or the identity provider."""
    rt = runtime()
    target = present.safe_next(request.values.get("next"), url_for(".jobs"))
    problem, status, headers = None, 200, dict[str, str]()
    if request.method == "POST":
        session.check_csrf()
        problem, status, headers = _sign_in_with(request.form.get("token", "").strip(), target)
        if problem is None:
            return redirect(target, 303)
    context = {"problem": problem, "next": target, "oidc": bool(rt.settings.oidc_issuer)}
    return render_template("login.html", **context), status, headers


def _sign_in_with(token: str, target: str) -> tuple[str | None, int, dict[str, str]]:
    """Sign in with a token: (why not, the status, headers); throttled per address and person."""
    rt = runtime()
    address = request.remote_addr or ""
    person = _claimed_person(token)
    wait = rt.throttle.retry_after(address, person)
    if wait:
        why = f"too many failed sign-ins: try again in {wait} s"
        audit_hooks.write("failed sign-in", person or "unknown", "", "", f"refused: throttled for {wait} s")
        return why, 429, {"Retry-After": str(wait)}
    found = session.token_principal(token) if token else None
    if found is None:
        rt.throttle.failed(address, person)
        audit_hooks.write("failed sign-in", person or "unknown", "", "", "refused: not a current token")
        return "that is not a current token (a personal token, or the bootstrap token)", 401, {}
    session.sign_in(found)
    audit_hooks.write("sign-in", found.name, found.role.label if found.role else "", "", "ok", method="token")
    return None, 303, {}


def _claimed_person(token: str) -> str | None:
    """Whom a sign-in attempt claims to be: the person its token id names, if any."""
    from remediator.people import tokens

    token_id = tokens.token_id(token)
    return runtime().people.person_of(token_id) if token_id else None


@bp.get("/login/oidc")
def oidc_login() -> ResponseReturnValue:
    """Sign in through the identity provider (REMEDIATOR_OIDC_ISSUER)."""
    return oidc.start()


@bp.get("/login/oidc/callback")
def oidc_callback() -> ResponseReturnValue:
    """Where the identity provider sends the person back."""
    return oidc.finish()


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """Sign out: the session ends on the server too."""
    who = session.principal()
    session.sign_out()
    if who is not None:
        audit_hooks.write("sign-out", who.name, who.role.label if who.role else "")
    return redirect(url_for(".login"), 303)


# -- jobs ------------------------------------------------------------------------------


def unchanged() -> tuple[int, bool]:
    """The events counter now, and whether a poll's `since` says nothing changed."""
    seen = runtime().store.events_seen()
    return seen, is_live() and request.args.get("since") == str(seen)


@bp.get("/jobs")
def jobs() -> ResponseReturnValue:
    """Newest jobs first, filtered by status, tier and rule; the first page stays live."""
    rt = runtime()
    seen, same = unchanged()
    if same:
        return "", 204
    filters = {k: request.args.get(k) or None for k in ("status", "tier", "rule")}
    if filters["status"] is not None and filters["status"] not in {s.value for s in JobStatus}:
        filters["status"] = None
        flash(f"unknown status {request.args.get('status')!r}: showing every status", "error")
    cursor = request.args.get("cursor") or None
    try:
        page = rt.store.page(**filters, limit=PAGE_SIZE, cursor=cursor)
    except ValueError as exc:
        flash(str(exc), "error")
        page = rt.store.page(**filters, limit=PAGE_SIZE)
        cursor = None
    context = {
        "jobs": page.jobs,
        "next_cursor": page.next_cursor,
        "cursor": cursor,
        "filters": filters,
        "query": {k: v for k, v in filters.items() if v},
        "seen": seen,
        "statuses": [s.value for s in JobStatus],
        "tiers": rt.settings.tiers,
        "rules": [r.name for r in rt.rules.rules],
        "webhook_url": _public_base() + url_for("webhooks.receive"),
    }
    template = "_jobs_table.html" if is_live() else "jobs.html"
    return render_template(template, **context)


@bp.get("/jobs/<job_id>")
def job(job_id: str) -> ResponseReturnValue:
    """One job: its story, params, output, notes, verification and related jobs."""
    rt = runtime()
    seen, _ = unchanged()
    found = rt.store.get(job_id)
    if found is None:
        days = rt.settings.job_retention_days
        raise JobNotFound(f"no job {job_id} (records are kept {days} days)")
    version = f"{seen}.{len(found.notes)}"
    if is_live() and request.args.get("since") == version:
        return "", 204
    related_ids = [i for i in rt.store.jobs_for_issue(found.sentry_issue_id or "") if i != job_id]
    if found.related_job and found.related_job not in related_ids:
        related_ids.insert(0, found.related_job)
    context = {
        "job": found,
        "public": public_job(found),
        "actions": present.actions(found),
        "related": rt.store.get_many(related_ids[:RELATED_SHOWN]),
        "related_more": max(0, len(related_ids) - RELATED_SHOWN),
        "recovery": present.time_to_recovery(found),
        "expires_in": (
            present.expires_in(found, rt.settings.approval_ttl_seconds)
            if found.status is JobStatus.AWAITING_APPROVAL
            else None
        ),
        "version": version,
    }
    return render_template("_job_detail.html" if is_live() else "job.html", **context)


def _decide(action: str) -> Callable[[str, str, str], Job]:
    dispatcher = runtime().dispatcher
    decisions: dict[str, Callable[[str, str, str], Job]] = {
        "approve": lambda job_id, by, why: dispatcher.approve(job_id, by),
        "reject": dispatcher.reject,
        "release": lambda job_id, by, why: dispatcher.release(job_id, by),
        "discard": lambda job_id, by, why: dispatcher.discard(job_id, by),
    }
    if action not in decisions:
        raise NotFound(f"no action {action!r}; known: " + ", ".join(decisions))
    return decisions[action]


PAST_TENSE = {"approve": "approved", "reject": "rejected", "release": "released", "discard": "discarded"}


@bp.post("/jobs/<job_id>/<action>")
def decide(job_id: str, action: str) -> ResponseReturnValue:
    """Approve, reject, release or discard a job, as the signed-in operator."""
    decision = _decide(action)
    by = _actor()
    why = " ".join(request.form.get("reason", "").split())[:500]
    try:
        moved = decision(job_id, by, why)
        flash(f"job {job_id[:8]} {PAST_TENSE[action]} by {by}: now {moved.status.value}", "ok")
    except RemediatorError as exc:
        audit_hooks.refused(str(exc))
        flash(f"could not {action} job {job_id[:8]}: {exc}", "error")
    return redirect(present.safe_next(request.form.get("next"), url_for(".job", job_id=job_id)), 303)


# -- approvals and the pause switch -------------------------------------------------------


@bp.get("/approvals")
def approvals() -> ResponseReturnValue:
    """Jobs awaiting approval, held jobs, and the global pause switch."""
    rt = runtime()
    seen, same = unchanged()
    if same:
        return "", 204
    waiting = rt.store.page(status=JobStatus.AWAITING_APPROVAL.value, limit=QUEUE_SIZE).jobs
    context = {
        "waiting": sorted(waiting, key=lambda j: j.created_at),
        "held": rt.store.page(status=JobStatus.HELD.value, limit=QUEUE_SIZE).jobs,
        "ttl": rt.settings.approval_ttl_seconds,
        "switches": controls.switch_log(rt.store.client, 5),
        "publics": {j.id: public_job(j) for j in waiting},
        "seen": seen,
    }
    return render_template("_approvals.html" if is_live() else "approvals.html", **context)


@bp.post("/pause")
def pause() -> ResponseReturnValue:
    """Pause remediation: every match is held until released or discarded."""
    by = _actor()
    why = " ".join(request.form.get("reason", "").split())[:500]
    controls.pause(runtime().store.client, by, why)
    flash(f"remediation paused by {by}: new matches are held", "ok")
    return redirect(url_for(".approvals"), 303)


@bp.post("/resume")
def resume() -> ResponseReturnValue:
    """Resume remediation (held jobs stay held until released or discarded)."""
    by = _actor()
    controls.resume(runtime().store.client, by)
    flash(f"remediation resumed by {by}", "ok")
    return redirect(url_for(".approvals"), 303)


# -- rules and tiers --------------------------------------------------------------------------


@bp.get("/rules")
def rules() -> ResponseReturnValue:
    """Each rule with its outcomes and breaker."""
    rt = runtime()
    raw = rt.store.client.get(SUGGESTIONS_KEY)
    suggested = json.loads(raw) if raw else None
    return render_template("rules.html", rules=rules_overview(rt.rules, rt.store), suggested=suggested)


@bp.post("/rules/<name>/enable")
def enable_rule(name: str) -> ResponseReturnValue:
    """Close a rule's breaker, as the signed-in operator."""
    rt = runtime()
    by = _actor()
    try:
        was_open = reenable_rule(rt.rules, rt.lifecycle, name, by)
        flash(f"rule {name} re-enabled by {by}" if was_open else f"rule {name} was not disabled", "ok")
    except RemediatorError as exc:
        audit_hooks.refused(str(exc))
        flash(str(exc), "error")
    return redirect(url_for(".rules"), 303)


@bp.post("/rules/<name>/promote")
def promote(name: str) -> ResponseReturnValue:
    """Promote a canary rule, as the signed-in operator."""
    rt = runtime()
    by = _actor()
    try:
        promote_rule(rt.rules, rt.lifecycle, name, by)
        flash(f"rule {name} promoted by {by}: its production jobs run", "ok")
    except RemediatorError as exc:
        audit_hooks.refused(str(exc))
        flash(str(exc), "error")
    return redirect(url_for(".rules"), 303)


@bp.get("/tiers")
def tiers() -> ResponseReturnValue:
    """Per tier: queue depth (all priority lists), oldest waiting job, heartbeat and check-in,
    workers, the tier cap's use. The workers' own answers load after the page."""
    rt = runtime()
    views = tier_views(
        rt.store.client, rt.settings.tiers, rt.settings.tier_max_runs, rt.settings.heartbeat_interval
    )
    template = "_tiers.html" if is_live() else "tiers.html"
    return render_template(template, tiers=views, telemetry=bool(rt.settings.sentry_dsn))


@bp.get("/tiers/workers")
def workers() -> ResponseReturnValue:
    """What each worker says it consumes and runs (Celery's inspect; up to a second)."""
    return render_template("_workers.html", workers=inspect_workers(runtime().celery), job_task=RUN_JOB_TASK)


def _actor() -> str:
    """The signed-in person (authorize.check let the request in, so there is one)."""
    who = session.principal()
    return who.name if who else "unknown"


def _public_base() -> str:
    settings = _settings()
    return (settings.public_url or request.host_url).rstrip("/")
