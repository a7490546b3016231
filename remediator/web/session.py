"""Who makes a request, in one place for the API, the console and the remote CLI: a bearer
token (the bootstrap token, REMEDIATOR_API_TOKEN, or a person's own), else the console's
session. The session cookie is signed (with a key derived from the bootstrap token, so
rotating it signs everyone out), `HttpOnly`, `SameSite=Lax` (and `Secure` behind https),
and holds only the server-side session's id and the CSRF token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from flask import Flask, abort, g, request, session

from remediator.people.directory import BOOTSTRAP, Principal
from remediator.people.roles import Role
from remediator.settings import Settings
from remediator.web.auth import bearer, same_secret
from remediator.web.runtime import runtime

COOKIE_NAME = "remediator_session"
SESSION_KEY_LABEL = b"remediator dashboard session"
CSRF_FIELD = "csrf_token"
SID_FIELD = "sid"


def configure(app: Flask, settings: Settings) -> None:
    """Set up the app's signed session cookie."""
    token = (settings.api_token or "").encode()
    app.secret_key = hmac.new(token, SESSION_KEY_LABEL, hashlib.sha256).hexdigest()
    app.config.update(
        SESSION_COOKIE_NAME=COOKIE_NAME,
        SESSION_COOKIE_HTTPONLY=True,
        # Lax, not Strict: the identity provider's redirect back is a cross-site top-level
        # GET, which a Strict cookie would not accompany. Cross-site POSTs still carry no
        # cookie, and every form carries its CSRF token.
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=(settings.public_url or "").startswith("https://"),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_hours),
    )


def bootstrap_principal() -> Principal:
    return Principal(BOOTSTRAP, Role.ADMIN, "bootstrap")


def token_principal(token: str) -> Principal | None:
    """The bootstrap admin or the person a personal token belongs to."""
    rt = runtime()
    if same_secret(token, rt.settings.api_token):
        return bootstrap_principal()
    return rt.people.authenticate(token)


def principal() -> Principal | None:
    """Who makes this request (computed once per request); None: nobody we know."""
    if "principal" not in g:
        token = bearer()
        if token is not None:
            g.principal = token_principal(token)
            g.by_bearer = True
        else:
            sid = session.get(SID_FIELD)
            rt = runtime()
            g.principal = rt.sessions.principal(sid, rt.people) if isinstance(sid, str) else None
            g.by_bearer = False
    found: Principal | None = g.principal
    return found


def by_bearer() -> bool:
    """Whether this request authenticates with a bearer token (no cookie, no CSRF)."""
    principal()
    return bool(g.get("by_bearer"))


def sign_in(found: Principal) -> None:
    """Start a server-side session for `found` (a fresh cookie: no fixation)."""
    sid = runtime().sessions.start(found)
    session.clear()
    session.permanent = True
    session[SID_FIELD] = sid
    session[CSRF_FIELD] = secrets.token_urlsafe(24)
    g.principal = found


def sign_out() -> None:
    """End the session here and on the server."""
    sid = session.get(SID_FIELD)
    if isinstance(sid, str):
        runtime().sessions.end(sid)
    session.clear()


def csrf_token() -> str:
    """This session's CSRF token (made on first use, so the sign-in form has one too)."""
    token = session.get(CSRF_FIELD)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(24)
        session[CSRF_FIELD] = token
    return token


def check_csrf() -> None:
    """Refuse (400) a state-changing request whose form lacks this session's CSRF token;
    bearer-token requests carry no cookie and need none."""
    if by_bearer():
        return
    sent = request.form.get(CSRF_FIELD, "")
    expected = session.get(CSRF_FIELD)
    if not isinstance(expected, str) or not hmac.compare_digest(sent.encode(), expected.encode()):
        abort(400, description="the form is stale or was not sent by this dashboard (CSRF token); reload")
