"""Console sign-in through a real OpenID Provider (oidc-provider, run with node by
tests/identity_provider.py): discovery, the authorization code flow with PKCE, a group
mapped to a role, key rotation; and each forged or stale answer refused — a token issued to
another application (its audience), an expired one, a replayed callback (its state), an
edited ID token — with nobody signed in and the refusal in the audit trail."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from werkzeug.serving import make_server

from remediator.audit.trail import AuditTrail
from remediator.local.embedded_redis import free_port
from tests.identity_provider import CLIENT_ID, CLIENT_SECRET, IdentityProvider

ROLES = {"sre-approvers": "approver", "sre": "operator", "sre-admins": "admin"}
RULES = "rules:\n  - name: r\n    match: {culprit: x}\n    job: {script: noop, tier: nonprod, class: C}\n"


class Console:
    """remediator's web over real HTTP on a port chosen first (the provider must know its
    callback URL before it starts), and the identity provider in front of it."""

    def __init__(self, make_app: Any, idle_broker_url: str, issuer_alias: str | None = None) -> None:
        import threading

        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.idp = IdentityProvider(f"{self.url}/login/oidc/callback")
        # `issuer_alias`: the same provider asked under another name than the one it issues as
        issuer = self.idp.issuer.replace("127.0.0.1", issuer_alias) if issuer_alias else self.idp.issuer
        self.app = make_app(
            RULES,
            broker=idle_broker_url,
            public_url=self.url,
            oidc_issuer=issuer,
            oidc_client_id=CLIENT_ID,
            oidc_client_secret=CLIENT_SECRET,
            oidc_roles=ROLES,
        )
        self.server = make_server("127.0.0.1", port, self.app, threaded=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def begin(self, browser: requests.Session) -> str:
        """The console's sign-in button: where it sends the browser (the provider)."""
        answer = browser.get(f"{self.url}/login/oidc?next=/approvals", allow_redirects=False, timeout=10)
        assert answer.status_code == 302, answer.text
        location: str = answer.headers["Location"]
        assert location.startswith(self.idp.issuer)
        return location

    def sign_in(self, browser: requests.Session, login: str) -> tuple[requests.Response, str]:
        """The whole sign-in as `login`: (the callback's answer, the callback URL)."""
        callback = self.idp.log_in(browser, self.begin(browser), login)
        assert callback.startswith(f"{self.url}/login/oidc/callback?")
        return browser.get(callback, allow_redirects=False, timeout=10), callback

    def signed_in(self, browser: requests.Session) -> bool:
        return browser.get(f"{self.url}/jobs", allow_redirects=False, timeout=10).status_code == 200

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.idp.close()


@pytest.fixture
def console(make_app, idle_redis, idle_broker_url) -> Iterator[Console]:  # type: ignore[no-untyped-def]
    running = Console(make_app, idle_broker_url)
    yield running
    running.close()


def refused(answer: requests.Response, why: str) -> None:
    assert answer.status_code == 401, answer.text[:500]
    assert "sign-in refused" in answer.text and why in answer.text, answer.text[-800:]


def test_a_person_signs_in_through_the_provider_with_pkce_and_gets_their_groups_highest_role(
    console, idle_redis
) -> None:
    browser = requests.Session()
    authorize = parse_qs(urlparse(console.begin(browser)).query)
    assert authorize["code_challenge_method"] == ["S256"] and authorize["code_challenge"][0]
    assert authorize["nonce"][0] and authorize["state"][0] and authorize["client_id"] == [CLIENT_ID]
    answer, _ = console.sign_in(browser, "alice")  # groups sre (operator), sre-approvers, staff
    assert answer.status_code == 303 and answer.headers["Location"] == "/approvals"
    page = browser.get(f"{console.url}/approvals", timeout=10).text
    assert "alice@example.test" in page and "approver" in page
    entry = [e for e in AuditTrail(idle_redis).entries() if e["action"] == "sign-in"][-1]
    assert (entry["actor"], entry["role"], entry["method"]) == ("alice@example.test", "approver", "oidc")


def test_a_person_whose_groups_map_to_no_role_is_signed_in_allowed_nothing_and_told_why(console) -> None:
    browser = requests.Session()
    answer, _ = console.sign_in(browser, "nemo")  # group marketing
    assert answer.status_code == 303
    page = browser.get(f"{console.url}/jobs", timeout=10)
    assert page.status_code == 403
    assert "nemo@example.test is given no role" in page.text
    assert "claim (marketing) maps to no role" in page.text and "REMEDIATOR_OIDC_ROLES" in page.text


def test_a_rotated_signing_key_is_fetched_again_and_a_retired_keys_or_an_edited_token_is_refused(
    console,
) -> None:
    first = requests.Session()
    assert console.sign_in(first, "olga")[0].status_code == 303
    signed_by_old_key = console.idp.proxy.last_tokens
    old_key = console.idp.key_id
    console.idp.start()  # a new signing key: the provider's JWKS no longer has the old one
    assert console.idp.key_id != old_key
    second = requests.Session()
    assert console.sign_in(second, "olga")[0].status_code == 303 and console.signed_in(second)
    # a token signed by the retired key (replayed by whoever kept it) is refused
    console.idp.proxy.swap_tokens = signed_by_old_key
    late = requests.Session()
    refused(console.sign_in(late, "olga")[0], "InvalidKeyIdError")
    console.idp.proxy.swap_tokens = None

    def promote(tokens: dict[str, Any]) -> dict[str, Any]:
        header, body, signature = tokens["id_token"].split(".")
        claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        claims["groups"] = ["sre-admins"]
        edited = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        return tokens | {"id_token": f"{header}.{edited}.{signature}"}

    console.idp.proxy.tamper = promote
    third = requests.Session()
    refused(console.sign_in(third, "olga")[0], "BadSignatureError")
    assert not console.signed_in(third)


def test_a_token_issued_to_another_application_is_refused_for_its_audience(console, idle_redis) -> None:
    browser = requests.Session()
    authorize_url = console.begin(browser)
    [nonce] = parse_qs(urlparse(authorize_url).query)["nonce"]
    # a real token for alice, issued to another application, with this sign-in's nonce
    console.idp.proxy.swap_tokens = console.idp.tokens_for_another_app(requests.Session(), "alice", nonce)
    callback = console.idp.log_in(browser, authorize_url, "alice")
    refused(browser.get(callback, allow_redirects=False, timeout=10), "aud")
    assert not console.signed_in(browser)
    entry = AuditTrail(idle_redis).entries()[-1]
    assert entry["action"] == "failed sign-in" and "aud" in entry["outcome"] and entry["method"] == "oidc"


def test_an_expired_id_token_is_refused(console) -> None:
    console.idp.control(token_clock_skew=-7200)  # tokens issued two hours ago: expired an hour ago
    browser = requests.Session()
    refused(console.sign_in(browser, "alice")[0], "expired")
    assert not console.signed_in(browser)


def test_a_replayed_callback_is_refused_for_its_state(console) -> None:
    browser = requests.Session()
    answer, callback = console.sign_in(browser, "olga")
    assert answer.status_code == 303
    browser.post(f"{console.url}/logout", data={"csrf_token": _csrf(browser, console)}, timeout=10)
    refused(browser.get(callback, allow_redirects=False, timeout=10), "State")
    stranger = requests.Session()
    refused(stranger.get(callback, allow_redirects=False, timeout=10), "State")
    assert not console.signed_in(browser) and not console.signed_in(stranger)


def _csrf(browser: requests.Session, console: Console) -> str:
    from tests.test_dashboard import csrf

    return csrf(browser.get(f"{console.url}/jobs", timeout=10).text)


def test_a_discovery_document_naming_another_issuer_is_refused(make_app, idle_redis, idle_broker_url) -> None:
    running = Console(make_app, idle_broker_url, issuer_alias="localhost")
    try:
        answer = requests.get(f"{running.url}/login/oidc", allow_redirects=False, timeout=10)
        assert answer.status_code == 502 and "sign-in refused" in answer.text
        assert f"names issuer &#39;{running.idp.issuer}&#39;" in answer.text
    finally:
        running.close()
