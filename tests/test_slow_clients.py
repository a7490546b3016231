"""The intake under slow clients: `remediator web` (gunicorn, as deployed) with a hundred
connections open that sent a partial request and then wait, over real sockets. Sentry gives a
delivery one second and never retries an internal integration's: a signed webhook still
answers inside that second, and /healthz too."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.helpers import encode, payload, sentry_headers, web_process

pytestmark = pytest.mark.slow

SLOW_CLIENTS = 100

RULES = """
rules:
  - name: storm
    match: {title: {contains: slow}}
    job: {script: noop, tier: nonprod, class: C}
"""


@pytest.fixture
def web(tmp_path: Path, private_broker_url: str) -> Iterator[str]:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    with web_process(tmp_path, private_broker_url, rules) as running:
        yield running["base"]


def slow_clients(port: int, n: int, body_sent: bool) -> list[socket.socket]:
    """n connections that sent a webhook's headers (and, with body_sent, half its body)
    and then wait, as a client on a bad link or an attacker would."""
    body = encode(payload("issue_created"))
    head = (
        "POST /sentry/webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    opened = []
    for _ in range(n):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(head + (body[: len(body) // 2] if body_sent else b""))
        opened.append(sock)
    return opened


def signed_webhook(base: str, title: str) -> tuple[int, float]:
    document = payload("issue_created")
    document["data"]["issue"].update(id=str(time.monotonic_ns()), title=title)
    body = encode(document)
    started = time.monotonic()
    headers = sentry_headers("issue", body)
    answer = requests.post(f"{base}/sentry/webhook", data=body, headers=headers, timeout=5)
    return answer.status_code, time.monotonic() - started


def test_a_signed_webhook_answers_within_a_second_while_a_hundred_slow_clients_wait(web: str) -> None:
    port = int(web.rsplit(":", 1)[1])
    half_bodies = slow_clients(port, SLOW_CLIENTS // 2, body_sent=True)
    headers_only = slow_clients(port, SLOW_CLIENTS - len(half_bodies), body_sent=False)
    try:
        answers = [signed_webhook(web, f"slow {i}") for i in range(5)]
        assert [status for status, _ in answers] == [202] * 5
        slowest = max(took for _, took in answers)
        assert slowest < 1.0, f"slowest answer {slowest:.2f} s"
        started = time.monotonic()
        assert requests.get(f"{web}/healthz", timeout=5).ok
        assert time.monotonic() - started < 1.0
    finally:
        for sock in half_bodies + headers_only:
            sock.close()
