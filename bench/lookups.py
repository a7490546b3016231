"""`python -m bench.lookups`: what the lookups cost a webhook. Issue webhooks of production
errors, each a new issue (no cached answer), are posted one at a time to the web (the
shipped rules, whose production rules test the environment an issue body lacks) while the
Sentry stand-in answers every REST call after 0, 200 ms or 2 s. Figures: the webhook's
p50 / p99 and how many were planned at once (`accepted`) or handed to a worker
(`deferred`, when the lookup did not fit the web's budget)."""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests
from werkzeug.serving import make_server

from remediator.intake.signature import sign
from remediator.local.embedded_redis import EmbeddedRedis
from remediator.settings import EXAMPLE_RULES, Settings, get_settings
from remediator.testing import SentryStandIn
from remediator.testing import sentry_events as shapes

SECRET = "bench-lookups-secret"
TOKEN = "bench-lookups-token"
LATENCIES = (0.0, 0.2, 2.0)

NO_LOOKUP_RULES = """
version: 1
rules:
  - name: any-timeout
    match: {title: {contains: TimeoutError}}
    job: {script: noop, tier: prod, class: B}
"""
"""The same webhooks against a rule that needs nothing looked up: the rig's own cost."""


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def lookup_latency(webhooks: int = 60, work: Path | None = None) -> dict[str, Any]:
    """The webhook's latency and outcome with Sentry answering after each of LATENCIES
    (the shipped rules), and with a rule that needs no lookup."""
    work = work or Path(tempfile.mkdtemp(prefix="remediator-bench-lookups-"))
    plain = work / "plain-rules.yaml"
    plain.write_text(NO_LOOKUP_RULES)
    results = {"no lookup": _run(work / "plain", plain, (0.0,), webhooks)["0ms"]}
    results.update(_run(work / "shipped", EXAMPLE_RULES, LATENCIES, webhooks))
    results["webhooks"] = webhooks
    return results


def _run(work: Path, rules: Path, latencies: tuple[float, ...], webhooks: int) -> dict[str, Any]:
    from remediator.web.app import create_app

    broker = EmbeddedRedis(work / "redis", persist=False).start()
    standin = SentryStandIn(token=TOKEN, org="acme").start()
    # The Celery app reads the broker from the environment when it is imported.
    os.environ["REMEDIATOR_BROKER_URL"] = broker.url
    get_settings.cache_clear()
    settings = Settings(
        broker_url=broker.url,
        data_dir=work / "var",
        rules_file=rules,
        sentry_client_secret=SECRET,
        api_token="bench",
        sentry_auth_token=TOKEN,
        sentry_org="acme",
        sentry_api_url=standin.api_url,
        sentry_dsn=None,
        tier_max_runs={"prod": (100_000_000, 3600.0), "nonprod": (100_000_000, 3600.0)},
    )
    server = make_server("127.0.0.1", 0, create_app(settings), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/sentry/webhook"
    http = requests.Session()
    results: dict[str, Any] = {}
    try:
        for latency in latencies:
            standin.reset()
            standin.latency = latency
            took, outcomes = [], {}  # type: ignore[var-annotated]
            for n in range(webhooks):
                issue_id = f"{int(latency * 1000)}{n:05d}"
                event = shapes.error_event(
                    "TimeoutError",
                    f"upstream {n} took 30s",
                    [shapes.frame("shop/pay.py", "charge", 12, module="shop.pay")],
                    environment="production",
                )
                standin.add_issue(issue_id, event=event)
                body = json.dumps(standin.issue_webhook(issue_id), separators=(",", ":")).encode()
                headers = {
                    "Content-Type": "application/json",
                    "Sentry-Hook-Resource": "issue",
                    "Sentry-Hook-Timestamp": str(int(time.time())),
                    "Sentry-Hook-Signature": sign(SECRET, body),
                }
                started = time.perf_counter()
                answer = http.post(url, data=body, headers=headers, timeout=10)
                took.append((time.perf_counter() - started) * 1000)
                status = answer.json().get("status", str(answer.status_code))
                outcomes[status] = outcomes.get(status, 0) + 1
            name = f"{int(latency * 1000)}ms"
            results[name] = {
                "p50_ms": round(statistics.median(took), 1),
                "p99_ms": round(_quantile(took, 0.99), 1),
                "max_ms": round(max(took), 1),
                "outcomes": outcomes,
            }
            print(f"Sentry answering after {latency:g} s: {results[name]}", file=sys.stderr)
    finally:
        server.shutdown()
        standin.stop()
        broker.stop()
    return results


if __name__ == "__main__":
    from bench.measures import machine

    figures = lookup_latency(int(sys.argv[1]) if len(sys.argv) > 1 else 60)
    figures["date"] = machine()["date"]
    path = Path(__file__).parent / "results.json"
    stored = json.loads(path.read_text()) if path.exists() else {"machine": machine()}
    stored["lookups"] = figures
    path.write_text(json.dumps(stored, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
