"""Every operator action through the web (the console's forms, the API's POSTs), sign-ins
and sign-outs, written to the audit trail after the request: who (the signed-in name, or the
name an API call gives), what, on what, from where, and how it went. One place, for every
route, so a new action cannot forget it."""

from __future__ import annotations

import logging
from typing import Any

import redis
from flask import Response, g, request

from remediator.web import session
from remediator.web.runtime import runtime

log = logging.getLogger(__name__)

ACTIONS = {
    "api.approve_job": "approve",
    "api.reject_job": "reject",
    "api.release_job": "release",
    "api.discard_job": "discard",
    "api.pause": "pause",
    "api.resume": "resume",
    "api.enable_rule": "enable rule",
    "api.promote": "promote rule",
    "dashboard.pause": "pause",
    "dashboard.resume": "resume",
    "dashboard.enable_rule": "enable rule",
    "dashboard.promote": "promote rule",
    "dashboard.logout": "sign-out",
}
"""The audited POST endpoints and the action each is (the console's decisions and sign-in
are named from the request: `dashboard.decide`, `dashboard.login`)."""


def refused(why: str) -> None:
    """Say, from a console route that only flashes its error, that the action was refused."""
    g.audit_outcome = f"refused: {why}"[:300]


def remember_actor() -> None:
    """Before a POST: who is acting (a sign-out clears the session before the entry)."""
    if request.method == "POST":
        g.audit_actor = _actor()


def record(response: Response) -> Response:
    """After a POST of an audited endpoint: its entry in the trail (a Redis error is logged;
    the action's own answer stands)."""
    if request.method != "POST":
        return response
    endpoint = request.endpoint or ""
    action = _action(endpoint)
    if action is None:
        return response
    if endpoint == "dashboard.login":
        ok = response.status_code < 400
        action, actor = ("sign-in" if ok else "failed sign-in"), request.form.get("name", "")[:100]
        outcome = "ok" if ok else "refused: wrong token or no name"
    else:
        actor = g.get("audit_actor") or _actor()
        outcome = g.get("audit_outcome") or (
            "ok" if response.status_code < 400 else f"refused ({response.status_code})"
        )
    target = next((str(v) for k, v in (request.view_args or {}).items() if k != "action"), "")
    detail: dict[str, Any] = {}
    reason = request.form.get("reason") or (
        (request.get_json(silent=True) or {}).get("reason") if request.is_json else None
    )
    if reason:
        detail["reason"] = str(reason)[:500]
    role = "api token" if endpoint.startswith("api.") or session.by_bearer(runtime().settings) else "console"
    try:
        runtime().audit.record(action, actor, target, outcome, request.remote_addr or "", role, **detail)
    except redis.RedisError as exc:
        log.error("audit entry %s by %s not written: %s", action, actor, exc)
    return response


def _action(endpoint: str) -> str | None:
    if endpoint == "dashboard.decide":
        return str((request.view_args or {}).get("action", "decide"))
    if endpoint == "dashboard.login":
        return "sign-in"
    return ACTIONS.get(endpoint)


def _actor() -> str:
    if (request.endpoint or "").startswith("api."):
        body = request.get_json(silent=True) or {}
        given = body.get("by") if isinstance(body, dict) else None
        return str(given or request.headers.get(session.OPERATOR_HEADER) or "api")[:100]
    return session.operator(runtime().settings) or "unknown"
