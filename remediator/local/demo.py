"""`remediator up --demo` and `remediator demo ...`: the whole loop with no Sentry account.

The demo runs the local Sentry stand-in inside `remediator up`, points every process's
telemetry and write-back at it, and uses rules whose remediation calls a pretend service
served by the stand-in. `remediator demo send` then plays Sentry: it creates an issue in the
stand-in and delivers a signed `issue.created` webhook.
"""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Any

import requests

from remediator.errors import ConfigurationError
from remediator.intake.signature import sign
from remediator.settings import Settings
from remediator.testing import SentryStandIn

WEB_URL_FILE = "web.url"
"""Where `remediator up` publishes the web process's address, in the data dir."""

STANDIN_FILE = "sentry-standin.json"
"""Where `up --demo` publishes the stand-in's address and token, in the data dir."""

DEMO_ORG = "demo"

DEMO_RULES = """\
# Written by `remediator up --demo`: the seed's database rule, aimed at a pretend service
# that the local Sentry stand-in serves.
version: 1
rules:
  - name: database-pool
    description: Errors in the database layer restart the connection pool.
    verify_after: {verify_after}
    approval: false   # prod class A waits for approval by default; the demo skips that
    match:
      culprit: {{contains: database}}
    job:
      script: restart-db-pool
      tier: prod
      class: A
      namespace: self-healing
      params:
        drain_url: {service}/db-pool/drain
        restart_url: {service}/db-pool/restart
        health_url: {service}/healthz
        health_interval: 0.5
  - name: build-failed
    match:
      title: {{contains: "Build failed"}}
    job: {{script: fix-build-errors, tier: nonprod, class: B, namespace: ci-cd}}
"""


def start_demo(settings: Settings, data_dir: Path) -> tuple[SentryStandIn, dict[str, str]]:
    """Start the stand-in and return it with the environment that points processes at it."""
    token = secrets.token_hex(16)
    standin = SentryStandIn(token=token, org=DEMO_ORG).start()
    (data_dir / STANDIN_FILE).write_text(
        json.dumps(
            {
                "url": standin.url,
                "token": token,
                "api_url": standin.api_url,
                "org": DEMO_ORG,
                "project": standin.project["slug"],
                "project_id": standin.project_id,
                "dsn": standin.dsn,
            },
            indent=2,
        )
    )
    env = {
        "SENTRY_DSN": standin.dsn,
        "SENTRY_ENVIRONMENT": "demo",
        "REMEDIATOR_SENTRY_API_URL": standin.api_url,
        "REMEDIATOR_SENTRY_AUTH_TOKEN": token,
        "REMEDIATOR_SENTRY_ORG": DEMO_ORG,
        # The stand-in ingests events at once, so the demo's short quiet window means something.
        "REMEDIATOR_MIN_VERIFY_AFTER": str(min(settings.min_verify_after, settings.demo_verify_after)),
    }
    if "sentry_web_traces_sample_rate" not in settings.model_fields_set:
        # The demo shows the whole trace: the webhook's request, then its job.
        env["REMEDIATOR_SENTRY_WEB_TRACES_SAMPLE_RATE"] = "1.0"
    if "rules_file" not in settings.model_fields_set:
        rules = data_dir / "demo-rules.yaml"
        rules.write_text(
            DEMO_RULES.format(
                verify_after=settings.demo_verify_after, service=f"{standin.url}/_standin/service"
            )
        )
        env["REMEDIATOR_RULES_FILE"] = str(rules)
    return standin, env


def standin_address(settings: Settings) -> dict[str, str]:
    """The running demo stand-in's url and token."""
    path = settings.data_dir / STANDIN_FILE
    if not path.exists():
        raise ConfigurationError(
            f"no demo running (none under {settings.data_dir}/, and no `remediator up --demo` of yours "
            "elsewhere): start one with `remediator up --demo`"
        )
    address: dict[str, str] = json.loads(path.read_text())
    return address


def web_url(settings: Settings) -> str:
    """Where the running `up` serves the web process (what it wrote), else PORT's."""
    path = settings.data_dir / WEB_URL_FILE
    if path.exists():
        return path.read_text().strip()
    return f"http://127.0.0.1:{settings.port}"


def send(
    settings: Settings, secret: str, issue_id: str, title: str, culprit: str, url: str | None = None
) -> Any:
    """Create the issue in the stand-in, then deliver its signed webhook to the web process
    (at url, else where `up` serves it). A delivery that fails removes the issue again."""
    standin = standin_address(settings)
    try:
        requests.post(
            f"{standin['url']}/_standin/issues",
            timeout=5,
            json={"id": issue_id, "title": title, "culprit": culprit},
        ).raise_for_status()
    except requests.ConnectionError:
        raise ConfigurationError(
            f"no demo running: its Sentry stand-in at {standin['url']} does not answer; "
            "start one with `remediator up --demo`"
        ) from None
    target = (url or web_url(settings)).rstrip("/") + "/sentry/webhook"
    try:
        # The body Sentry would send for that issue, as the stand-in renders it.
        answer = requests.get(f"{standin['url']}/_standin/issues/{issue_id}/webhook", timeout=5)
        answer.raise_for_status()
        return _deliver(secret, target, answer.json())
    except (requests.RequestException, ValueError) as exc:
        requests.delete(f"{standin['url']}/_standin/issues/{issue_id}", timeout=5)
        raise ConfigurationError(f"could not deliver the webhook to {target}: {exc}") from None


def _deliver(secret: str, target: str, document: dict[str, Any]) -> Any:
    body = json.dumps(document, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "Request-ID": secrets.token_hex(16),
        "Sentry-Hook-Resource": "issue",
        "Sentry-Hook-Timestamp": str(int(time.time())),
        "Sentry-Hook-Signature": sign(secret, body),
    }
    response = requests.post(target, data=body, headers=headers, timeout=5)
    return response.status_code, response.json()


def new_event(settings: Settings, issue_id: str) -> None:
    """One more event on a stand-in issue (the problem is still happening)."""
    standin = standin_address(settings)
    try:
        requests.post(f"{standin['url']}/_standin/issues/{issue_id}/events", timeout=5).raise_for_status()
    except requests.ConnectionError:
        raise ConfigurationError(
            f"no demo running: its Sentry stand-in at {standin['url']} does not answer; "
            "start one with `remediator up --demo`"
        ) from None
