"""A real OpenID Provider for the sign-in tests: `oidc-provider` (tests/oidc/provider.mjs)
run with node, behind a small reverse proxy over real HTTP. The provider's issuer is the
proxy's URL, so remediator, the browser and the test all reach the provider through it; the
proxy passes everything on unchanged unless a test asks it to stand in for an attacker on
the token endpoint's answer (`swap_tokens`, `tamper`). `sign_in` plays the person's browser
(a requests session following redirects and submitting the provider's own forms)."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from html import unescape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlparse

import pytest
import requests

from remediator.local.embedded_redis import free_port

HERE = Path(__file__).parent / "oidc"
CLIENT_ID, CLIENT_SECRET = "remediator-console", "console-secret-for-tests"
OTHER_ID, OTHER_SECRET = "another-app", "another-app-secret"
OTHER_REDIRECT = "http://127.0.0.1:9/another-app/callback"
ACCOUNTS = {"alice": ["sre", "sre-approvers", "staff"], "olga": ["sre"], "nemo": ["marketing"]}


def node_or_fail() -> str:
    """node, with oidc-provider installed beside provider.mjs (npm ci when it is not); the
    tests skip saying why without node, except in CI (`CI` set), where they fail."""
    node, npm = shutil.which("node"), shutil.which("npm")
    why = None
    if node is None or npm is None:
        why = "node and npm are not installed (apt-get install nodejs npm)"
    elif not (HERE / "node_modules" / "oidc-provider").is_dir():
        done = subprocess.run(
            [npm, "ci", "--silent", "--no-audit", "--no-fund"], cwd=HERE, capture_output=True, text=True
        )
        if done.returncode != 0:
            why = f"npm ci in {HERE} failed: {done.stderr.strip()[-300:]}"
    if why is not None:
        if os.environ.get("CI"):
            pytest.fail(f"the OpenID Provider cannot run in CI: {why}")
        pytest.skip(why)
    assert node is not None
    return node


class Proxy(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int) -> None:
        super().__init__(("127.0.0.1", port), _Forward)
        self.upstream = 0
        self.swap_tokens: dict[str, Any] | None = None
        """The token endpoint's answer to send instead of the real one (a token issued to
        another application)."""
        self.tamper: Callable[[dict[str, Any]], dict[str, Any]] | None = None
        """Changes the token endpoint's answer on its way (an edited ID token)."""
        self.last_tokens: dict[str, Any] | None = None
        """The token endpoint's last real answer (to replay one signed by a retired key)."""


class _Forward(BaseHTTPRequestHandler):
    server: Proxy

    def log_message(self, *_: Any) -> None:
        pass

    def _relay(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        upstream = http.client.HTTPConnection("127.0.0.1", self.server.upstream, timeout=10)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "content-length")}
        headers["X-Forwarded-Proto"] = "http"
        upstream.request(self.command, self.path, body=body or None, headers=headers)
        answer = upstream.getresponse()
        data = answer.read()
        if self.path.startswith("/token") and self.command == "POST" and answer.status == 200:
            document = json.loads(data)
            self.server.last_tokens = document
            if self.server.swap_tokens is not None:
                document = self.server.swap_tokens
            if self.server.tamper is not None:
                document = self.server.tamper(document)
            data = json.dumps(document).encode()
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in ("content-length", "connection", "keep-alive", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)
        upstream.close()

    do_GET = do_POST = _relay


class IdentityProvider:
    """The provider (a node process) and its proxy; `issuer` is what remediator is given."""

    def __init__(self, redirect_uri: str) -> None:
        self.node = node_or_fail()
        self.redirect_uri = redirect_uri
        self.proxy = Proxy(free_port())
        self.issuer = f"http://127.0.0.1:{self.proxy.server_port}"
        threading.Thread(target=self.proxy.serve_forever, daemon=True).start()
        self.process: subprocess.Popen[str] | None = None
        self._log_file: Any = None
        self.logs = tempfile.mkdtemp(prefix="oidc-provider-")
        self.key_id = ""
        self.start()

    def start(self, key_id: str | None = None) -> None:
        """Start (or restart, with a new signing key: a key rotation) the provider."""
        self.stop()
        self.key_id = key_id or f"key-{secrets.token_hex(4)}"
        port = free_port()
        config = {
            "issuer": self.issuer,
            "port": port,
            "key_id": self.key_id,
            "accounts": ACCOUNTS,
            "clients": [
                {
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                    "redirect_uris": [self.redirect_uri],
                },
                {"client_id": OTHER_ID, "client_secret": OTHER_SECRET, "redirect_uris": [OTHER_REDIRECT]},
            ],
        }
        self.log = Path(self.logs) / f"provider-{port}.log"
        self._log_file = self.log.open("w")
        self.process = subprocess.Popen(
            [self.node, str(HERE / "provider.mjs")],
            env=os.environ | {"OIDC_TEST_CONFIG": json.dumps(config)},
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.proxy.upstream = port
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"oidc-provider exited: {self.log.read_text()[-2000:]}")
            try:
                if requests.get(f"{self.issuer}/.well-known/openid-configuration", timeout=1).ok:
                    return
            except requests.ConnectionError:
                time.sleep(0.1)
        raise AssertionError(f"oidc-provider did not answer in 20 s: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def close(self) -> None:
        self.stop()
        self.proxy.shutdown()
        self.proxy.server_close()
        shutil.rmtree(self.logs, ignore_errors=True)

    def control(self, **settings: Any) -> None:
        requests.post(f"{self.issuer}/test-control", json=settings, timeout=5).raise_for_status()

    # -- playing the person's browser ---------------------------------------------------------

    def log_in(self, browser: requests.Session, authorize_url: str, login: str) -> str:
        """From the provider's authorization URL, sign in as `login` on its own forms and
        consent; returns where the provider sends the browser back (the callback URL)."""
        answer = browser.get(authorize_url, allow_redirects=False, timeout=10)
        for _ in range(10):
            location = answer.headers.get("Location")
            if answer.is_redirect and location:
                target = urljoin(answer.url, location)
                if not target.startswith(self.issuer):
                    return target
                answer = browser.get(target, allow_redirects=False, timeout=10)
                continue
            form = re.search(r'<form[^>]*action="([^"]+)"[^>]*method="post"', answer.text)
            assert form, f"no form from the provider: {answer.status_code} {answer.text[:500]}"
            fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', answer.text))
            if 'name="login"' in answer.text:
                fields |= {"login": login, "password": "any password"}
            answer = browser.post(
                urljoin(answer.url, unescape(form.group(1))), data=fields, allow_redirects=False, timeout=10
            )
        raise AssertionError("the provider never sent the browser back")

    def tokens_for_another_app(self, browser: requests.Session, login: str, nonce: str) -> dict[str, Any]:
        """A real token answer issued to another application (its audience), for `login`
        and with `nonce`: what an attacker holding such a token would replay."""
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        query = urlencode(
            {
                "client_id": OTHER_ID,
                "response_type": "code",
                "redirect_uri": OTHER_REDIRECT,
                "scope": "openid email groups",
                "state": secrets.token_urlsafe(8),
                "nonce": nonce,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
        back = self.log_in(browser, f"{self.issuer}/auth?{query}", login)
        [code] = parse_qs(urlparse(back).query)["code"]
        answer = requests.post(
            f"{self.issuer}/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": OTHER_REDIRECT,
                "code_verifier": verifier,
            },
            auth=(OTHER_ID, OTHER_SECRET),
            timeout=10,
        )
        answer.raise_for_status()
        tokens: dict[str, Any] = answer.json()
        return tokens
