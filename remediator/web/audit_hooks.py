"""Every operator action through the web (the console's forms, the API's POSTs), sign-ins,
failed ones and sign-outs, written to the audit trail after the request: who (the person the
token or the session belongs to, with their role), what, on what, from where, and how it went
(a refusal too). One place, for every route, so a new action cannot forget it."""

from __future__ import annotations

import logging
from typing import Any

import redis
from flask import Response, g, request

from remediator.defaults import KEY_PREFIX
from remediator.web import session
from remediator.web.authorize import action_for
from remediator.web.runtime import runtime

log = logging.getLogger(__name__)

AUDITED_ENDPOINTS = frozenset(
    {
        "api.approve_job",
        "api.reject_job",
        "api.release_job",
        "api.discard_job",
        "api.pause",
        "api.resume",
        "api.enable_rule",
        "api.promote",
        "api.add_person",
        "api.set_role",
        "api.disable_person",
        "api.issue_token",
        "api.reload_rules",
        "dashboard.decide",
        "dashboard.pause",
        "dashboard.resume",
        "dashboard.enable_rule",
        "dashboard.promote",
    }
)
"""The POST endpoints whose every request is an entry (sign-in and sign-out are written by
their own routes, through `write`, as only they know how it went)."""

SPECIFIC = {
    "api.add_person": "add person",
    "api.set_role": "set role",
    "api.disable_person": "disable person",
    "api.issue_token": "issue token",
}


def refused(why: str) -> None:
    """Say, from a console route that only flashes its error, that the action was refused."""
    g.audit_outcome = f"refused: {why}"[:300]


def detail(**fields: Any) -> None:
    """Add what an action's entry should say beyond who, what and how (a role set, a count)."""
    g.audit_detail = g.get("audit_detail", {}) | fields


def remember_actor() -> None:
    """Before an audited POST: who is acting, read before the authorization check so that a
    refusal is an entry too (webhooks and other POSTs pay nothing)."""
    if request.method == "POST" and request.endpoint in AUDITED_ENDPOINTS:
        g.audit_who = session.principal()


def record(response: Response) -> Response:
    """After a POST of an audited endpoint: its entry in the trail (a Redis error is logged;
    the action's own answer stands)."""
    endpoint = request.endpoint or ""
    if request.method != "POST" or endpoint not in AUDITED_ENDPOINTS:
        return response
    who = g.get("audit_who")
    outcome = g.get("audit_outcome") or (
        "ok" if response.status_code < 400 else f"refused ({response.status_code})"
    )
    target = next((str(v) for k, v in (request.view_args or {}).items() if k != "action"), "")
    extra: dict[str, Any] = dict(g.get("audit_detail", {}))
    body = request.get_json(silent=True) if request.is_json else None
    reason = request.form.get("reason") or (body.get("reason") if isinstance(body, dict) else None)
    if reason:
        extra["reason"] = str(reason)[:500]
    write(
        SPECIFIC.get(endpoint) or action_for(endpoint),
        who.name if who else "unknown",
        who.role.label if who and who.role else "",
        target,
        outcome,
        **extra,
    )
    return response


def write(action: str, actor: str, role: str, target: str = "", outcome: str = "ok", **extra: Any) -> None:
    """One entry from this request's address (source: the console, the API)."""
    channel = "api" if session.by_bearer() or (request.endpoint or "").startswith("api.") else "console"
    try:
        runtime().audit.record(
            action, actor, target, outcome, request.remote_addr or "", role, via=channel, **extra
        )
    except redis.RedisError as exc:
        log.error("audit entry %s by %s not written: %s", action, actor, exc)


RELOADED_PREFIX = f"{KEY_PREFIX}audit:reloaded:"
"""One key per rule-file version: the first web process to load it writes the entry."""


def rules_reloaded(trail: Any, data: bytes, rules: Any) -> None:
    """LiveRules' reload hook: one entry per new version of the rule file across every web
    process (its SHA-256 and its rules' names); an admin's reload through the API is that
    request's own entry instead."""
    import hashlib

    from flask import has_request_context

    digest = hashlib.sha256(data).hexdigest()
    names = [r.name for r in rules.rules]
    asked = has_request_context() and g.get("reload_requested")
    if asked:
        detail(sha256=digest, rules=names)
    try:
        if not trail.client.set(RELOADED_PREFIX + digest, "1", nx=True, ex=86400) or asked:
            return
        trail.record("reload rules", "rule file", "", "ok", "", "", sha256=digest, rules=names)
    except redis.RedisError as exc:
        log.error("audit entry for the rules reload %s not written: %s", digest[:12], exc)
