"""Who is at the dashboard: a signed session cookie after sign-in (or a bearer token), the
operator's name for every decision they make, and a CSRF token on every form.

The cookie is signed with a key derived from the API token, so rotating the token signs
everyone out. It is `HttpOnly` and `SameSite=Strict` (and `Secure` behind https); it holds
the operator's name and the CSRF token, nothing secret.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from flask import Flask, abort, request, session

from remediator.settings import Settings
from remediator.web.auth import bearer_ok

COOKIE_NAME = "remediator_session"
SESSION_KEY_LABEL = b"remediator dashboard session"
MAX_NAME_LENGTH = 80
CSRF_FIELD = "csrf_token"
OPERATOR_HEADER = "X-Remediator-Operator"
"""With a bearer token, who decides: this header or a `by` form field."""


def configure(app: Flask, settings: Settings) -> None:
    """Set up the app's signed session cookie."""
    token = (settings.api_token or "").encode()
    app.secret_key = hmac.new(token, SESSION_KEY_LABEL, hashlib.sha256).hexdigest()
    app.config.update(
        SESSION_COOKIE_NAME=COOKIE_NAME,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=(settings.public_url or "").startswith("https://"),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_hours),
    )


def sign_in(settings: Settings, token: str, name: str) -> str | None:
    """Start a session for `name` if `token` is the API token; returns why not, or None."""
    name = " ".join(name.split())[:MAX_NAME_LENGTH]
    if not name:
        return "say who you are: your name is recorded on every decision you make"
    expected = (settings.api_token or "").encode()
    if not expected or not hmac.compare_digest(token.strip().encode(), expected):
        return "that is not the API token"
    session.clear()
    session.permanent = True
    session["operator"] = name
    session[CSRF_FIELD] = secrets.token_urlsafe(24)
    return None


def sign_out() -> None:
    """End the session."""
    session.clear()


def by_bearer(settings: Settings) -> bool:
    """Whether this request authenticates with the bearer token (no cookie, no CSRF)."""
    return bearer_ok(settings.api_token)


def operator(settings: Settings) -> str | None:
    """Who makes this request: the signed-in name, or with a bearer token the name the
    request gives (or `api`); None when the request is not authenticated."""
    if by_bearer(settings):
        given = request.headers.get(OPERATOR_HEADER) or request.form.get("by") or "api"
        return " ".join(given.split())[:MAX_NAME_LENGTH] or "api"
    name = session.get("operator")
    return name if isinstance(name, str) and name else None


def csrf_token() -> str:
    """This session's CSRF token (made on first use, so the sign-in form has one too)."""
    token = session.get(CSRF_FIELD)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(24)
        session[CSRF_FIELD] = token
    return token


def check_csrf(settings: Settings) -> None:
    """Refuse (400) a state-changing request whose form lacks this session's CSRF token;
    bearer-token requests carry no cookie and need none."""
    if by_bearer(settings):
        return
    sent = request.form.get(CSRF_FIELD, "")
    expected = session.get(CSRF_FIELD)
    if not isinstance(expected, str) or not hmac.compare_digest(sent.encode(), expected.encode()):
        abort(400, description="the form is stale or was not sent by this dashboard (CSRF token); reload")
