"""Every webhook is verified: HMAC-SHA256 over the exact body bytes, constant-time."""

from __future__ import annotations

import json

import pytest

from remediator.intake.signature import sign, verify
from tests.helpers import PAYLOADS, SECRET, encode, payload, sentry_headers

SHARED = sorted(p.stem for p in PAYLOADS.glob("*.json"))


@pytest.mark.parametrize("name", SHARED)
def test_signature_over_the_raw_shared_payload_verifies(name: str) -> None:
    body = (PAYLOADS / f"{name}.json").read_bytes()
    assert verify(SECRET, body, sign(SECRET, body))


@pytest.mark.parametrize("name", SHARED)
def test_one_changed_byte_or_wrong_secret_fails_verification(name: str) -> None:
    body = (PAYLOADS / f"{name}.json").read_bytes()
    signature = sign(SECRET, body)
    assert not verify(SECRET, body + b" ", signature)
    assert not verify("another-secret", body, signature)
    assert not verify(SECRET, body, None)
    assert not verify(SECRET, body, "")


def test_signature_is_over_bytes_not_reserialised_json() -> None:
    pretty = json.dumps(payload("issue_created"), indent=2).encode()
    compact = encode(payload("issue_created"))
    assert verify(SECRET, pretty, sign(SECRET, pretty))
    assert not verify(SECRET, compact, sign(SECRET, pretty))


def test_uppercase_hex_signature_is_accepted() -> None:
    body = b'{"a":1}'
    assert verify(SECRET, body, sign(SECRET, body).upper())


@pytest.mark.parametrize(
    "name,resource", [("issue_created", "issue"), ("event_alert_triggered", "event_alert")]
)
def test_webhook_with_bad_signature_gets_401_and_submits_nothing(
    make_app, redis_db, name: str, resource: str
) -> None:
    client = make_app().test_client()
    body = (PAYLOADS / f"{name}.json").read_bytes()
    headers = sentry_headers(resource, body, secret="wrong")
    response = client.post("/sentry/webhook", data=body, headers=headers)
    assert response.status_code == 401
    assert "Sentry-Hook-Signature" in response.get_json()["reason"]
    assert redis_db.zcard("remediator:jobs") == 0


def test_webhook_without_signature_header_gets_401(make_app, redis_db) -> None:
    client = make_app().test_client()
    body = (PAYLOADS / "issue_created.json").read_bytes()
    headers = sentry_headers("issue", body)
    del headers["Sentry-Hook-Signature"]
    assert client.post("/sentry/webhook", data=body, headers=headers).status_code == 401
