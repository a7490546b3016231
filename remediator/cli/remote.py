"""The remote CLI: with REMEDIATOR_URL set, operator commands call that remediator's API as
the person REMEDIATOR_TOKEN belongs to, so the API's one authorization check decides (a 403
names the role needed) and the audit trail names the person. Without it, commands act on
Redis directly, as whoever can reach it (the machine's operator)."""

from __future__ import annotations

from typing import Any

import click
import requests

from remediator.settings import Settings

TIMEOUT_SECONDS = 10.0

BY_HELP = "Who, when acting on Redis directly (with REMEDIATOR_URL: the person REMEDIATOR_TOKEN belongs to)."


class Remote:
    def __init__(self, url: str, token: str) -> None:
        self.url = url.rstrip("/")
        self.token = token

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """The API's JSON answer; its refusal (401, 403, 404, 409…) as a ClickException."""
        try:
            answer = requests.request(
                method,
                self.url + path,
                json=body,
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=TIMEOUT_SECONDS,
            )
        except requests.RequestException as exc:
            raise click.ClickException(f"cannot reach {self.url}: {exc.__class__.__name__}") from None
        try:
            document = answer.json()
        except ValueError:
            document = {"reason": answer.text[:200]}
        if answer.status_code == 401:
            raise click.ClickException(f"{self.url} does not know REMEDIATOR_TOKEN (not a current token)")
        if answer.status_code >= 400:
            reason = document.get("reason") if isinstance(document, dict) else None
            raise click.ClickException(f"{answer.status_code}: {reason or answer.reason}")
        return document


def remote(settings: Settings) -> Remote | None:
    """The remote API when REMEDIATOR_URL is set (REMEDIATOR_TOKEN then required)."""
    if not settings.remote_url:
        return None
    if not settings.remote_token:
        raise click.ClickException("REMEDIATOR_URL is set: set REMEDIATOR_TOKEN to your personal token too")
    return Remote(settings.remote_url, settings.remote_token)
