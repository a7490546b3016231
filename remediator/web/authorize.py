"""The one authorization check, before every request to the API and the console: who the
request comes from (session.py), what the endpoint does (ACTIONS; reading when unnamed), and
whether their role allows it (people/roles.py). A refusal is 403 naming the role needed —
JSON for the API, a page for the console — and the action never runs."""

from __future__ import annotations

from flask import Response, jsonify, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.utils import redirect

from remediator.people.roles import NEEDS, allowed, refusal
from remediator.web import session

OPEN = frozenset(
    {
        "api.healthz",
        "api.readyz",
        "dashboard.login",
        "dashboard.static",
        "dashboard.oidc_login",
        "dashboard.oidc_callback",
    }
)
"""Endpoints anyone may reach (webhooks and /metrics check their own secrets)."""

GUARDED_BLUEPRINTS = ("api", "dashboard")

ACTIONS = {
    "api.approve_job": "approve",
    "api.reject_job": "reject",
    "api.release_job": "release",
    "api.discard_job": "discard",
    "api.pause": "pause",
    "api.resume": "resume",
    "api.enable_rule": "enable rule",
    "api.promote": "promote rule",
    "api.reload_rules": "reload rules",
    "api.add_person": "manage people",
    "api.list_people": "manage people",
    "api.set_role": "manage people",
    "api.disable_person": "manage people",
    "api.issue_token": "manage people",
    "dashboard.pause": "pause",
    "dashboard.resume": "resume",
    "dashboard.enable_rule": "enable rule",
    "dashboard.promote": "promote rule",
    "dashboard.audit": "read audit",
}
"""What each endpoint that does more than read does (the console's decisions are named by
their URL: `dashboard.decide`)."""

NOT_AN_ACTION = frozenset({"dashboard.logout", "api.whoami"})
"""Endpoints any signed-in person reaches, whatever their role (even none)."""


def action_for(endpoint: str) -> str:
    """What a request to `endpoint` does."""
    if endpoint == "dashboard.decide":
        named = str((request.view_args or {}).get("action", ""))
        return named if named in NEEDS else "approve"
    return ACTIONS.get(endpoint, "read")


def check() -> ResponseReturnValue | None:
    """Before each request: None to go on, or the answer that refuses it."""
    endpoint = request.endpoint or ""
    if endpoint in OPEN or endpoint.partition(".")[0] not in GUARDED_BLUEPRINTS:
        return None
    api = endpoint.startswith("api.")
    who = session.principal()
    if who is None:
        if api:
            return jsonify(status="error", reason="missing or invalid bearer token"), 401
        if request.headers.get("HX-Request") == "true":
            # A poll after the session ended: send the whole page to the sign-in form.
            return Response(status=401, headers={"HX-Redirect": url_for("dashboard.login")})
        return redirect(url_for("dashboard.login", next=request.full_path.rstrip("?")))
    if not api and request.method == "POST":
        session.check_csrf()
    if endpoint in NOT_AN_ACTION:
        return None
    action = action_for(endpoint)
    if allowed(who.role, action):
        return None
    why = refusal(action, who.name, who.role)
    if who.role is None and who.why_no_role:
        why += f" ({who.why_no_role})"
    if api:
        return jsonify(status="error", reason=why, needs=action), 403
    return render_template("error.html", code=403, reason=why), 403


def can(action: str) -> bool:
    """Whether the person making this request may do `action` (the console hides the rest)."""
    who = session.principal()
    return who is not None and allowed(who.role, action)
