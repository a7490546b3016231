"""Console sign-in through an OpenID Connect provider (Okta, Google, Keycloak, Azure AD…):
Authlib's Flask client, the authorization code flow with PKCE (S256) and a nonce, the
provider found by discovery and its keys by its JWKS (fetched again when a token names a key
it does not know: key rotation). The one-time state lives in Redis (Authlib's cache), so a
replayed callback finds none and is refused; the ID token's signature, issuer, audience,
expiry and nonce are checked by Authlib before anyone is signed in. The role comes from the
token's claims (people/claims.py)."""

from __future__ import annotations

import logging
from typing import Any

import redis
import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Flask, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from joserfc.errors import JoseError

from remediator.defaults import KEY_PREFIX
from remediator.people.claims import person_name, role_from
from remediator.people.directory import Principal
from remediator.settings import Settings
from remediator.web import audit_hooks, present
from remediator.web import session as who
from remediator.web.runtime import runtime

log = logging.getLogger(__name__)

EXTENSION = "remediator-oidc"
STATE_PREFIX = f"{KEY_PREFIX}oidc:"
NEXT_FIELD = "oidc_next"
CLOCK_LEEWAY_SECONDS = 60
"""How far the provider's clock may be from ours when the ID token's times are checked."""


class StateCache:
    """Authlib's cache interface on Redis: each sign-in's state, nonce and PKCE verifier,
    kept until its callback uses them (once) or ten minutes pass."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def get(self, key: str) -> Any:
        return self.client.getdel(STATE_PREFIX + key)

    def set(self, key: str, value: str, expires: int | None = None) -> None:
        self.client.set(STATE_PREFIX + key, value, ex=expires or 600)

    def delete(self, key: str) -> None:
        self.client.delete(STATE_PREFIX + key)


def configure(app: Flask, settings: Settings, client: redis.Redis) -> None:
    """Register the provider when REMEDIATOR_OIDC_ISSUER is set (nothing is fetched yet:
    discovery happens at the first sign-in)."""
    if not settings.oidc_issuer:
        return
    settings.require("oidc_client_id", "oidc_client_secret")
    oauth = OAuth(app, cache=StateCache(client))
    oauth.register(
        "oidc",
        client_id=settings.oidc_client_id,
        client_secret=settings.oidc_client_secret,
        server_metadata_url=settings.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration",
        client_kwargs={"scope": settings.oidc_scopes, "code_challenge_method": "S256", "timeout": 10},
    )
    app.extensions[EXTENSION] = oauth


def _client() -> Any:
    from flask import current_app

    oauth = current_app.extensions.get(EXTENSION)
    if oauth is None:
        return None
    return oauth.oidc


def start() -> ResponseReturnValue:
    """GET /login/oidc: off to the provider."""
    client = _client()
    if client is None:
        return render_template("error.html", code=404, reason="single sign-on is not configured"), 404
    session[NEXT_FIELD] = present.safe_next(request.args.get("next"), url_for("dashboard.jobs"))
    try:
        named = client.load_server_metadata().get("issuer")
    except (OAuthError, requests.RequestException, ValueError) as exc:
        log.error("single sign-on: the identity provider could not be asked: %s", exc)
        why = f"the identity provider cannot be reached ({exc.__class__.__name__})"
        return render_template("error.html", code=502, reason=why), 502
    configured = runtime().settings.oidc_issuer or ""
    if not isinstance(named, str) or named.rstrip("/") != configured.rstrip("/"):
        # OpenID Connect Discovery 1.0, section 4.3: the issuer a provider's discovery
        # document names must be the one it was asked as; else it may be an impostor's.
        why = f"the identity provider's discovery document names issuer {named!r}, not {configured!r}"
        log.error("single sign-on refused: %s", why)
        return render_template("error.html", code=502, reason=f"sign-in refused: {why}"), 502
    return client.authorize_redirect(_callback_url())  # type: ignore[no-any-return]


def finish() -> ResponseReturnValue:
    """GET /login/oidc/callback: the provider's answer, checked, then signed in."""
    rt = runtime()
    client = _client()
    address = request.remote_addr or ""
    if client is None:
        return render_template("error.html", code=404, reason="single sign-on is not configured"), 404
    wait = rt.throttle.retry_after(address, None)
    if wait:
        why = f"too many failed sign-ins: try again in {wait} s"
        return render_template("error.html", code=429, reason=why), 429, {"Retry-After": str(wait)}
    try:
        issuer = client.load_server_metadata().get("issuer")
        # Said outright, not left to Authlib's defaults: the issuer discovery named, and
        # this console as the audience (a token issued to another application is refused).
        expected = {
            "iss": {"essential": True, "values": [issuer]},
            "aud": {"essential": True, "values": [client.client_id]},
        }
        token = client.authorize_access_token(leeway=CLOCK_LEEWAY_SECONDS, claims_options=expected)
        claims = dict(token.get("userinfo") or {})
        if not claims:
            raise OAuthError(description="the provider sent no ID token")
    except (OAuthError, JoseError, requests.RequestException, ValueError, KeyError) as exc:
        rt.throttle.failed(address, None)
        why = refusal(exc)
        audit_hooks.write("failed sign-in", "unknown", "", "", f"refused: {why}", method="oidc")
        return render_template("error.html", code=401, reason=f"sign-in refused: {why}"), 401
    settings = rt.settings
    name = person_name(claims)
    role, why_none = role_from(claims, settings.oidc_role_claim, settings.oidc_roles)
    target = session.pop(NEXT_FIELD, None) or url_for("dashboard.jobs")
    who.sign_in(Principal(name, role, "oidc", why_none))
    audit_hooks.write("sign-in", name, role.label if role else "", "", "ok", method="oidc")
    return redirect(present.safe_next(target, url_for("dashboard.jobs")), 303)


def refusal(exc: Exception) -> str:
    """Why a sign-in was refused, in a line (never a token)."""
    kind = exc.__class__.__name__
    detail = getattr(exc, "description", None) or str(exc) or kind
    return f"{kind}: {detail}"[:300]


def _callback_url() -> str:
    base = (runtime().settings.public_url or request.host_url).rstrip("/")
    return base + url_for("dashboard.oidc_callback")
