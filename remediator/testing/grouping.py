"""What the Sentry stand-in does with an error event that reaches it in an envelope when an
integration is installed: group it into an issue and tell the integration, by a signed
webhook, as Sentry does."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

INSTALLATION = "00000000-0000-4000-8000-000000000000"


def _title(event: dict[str, Any]) -> str:
    values = (event.get("exception") or {}).get("values") or []
    if values:
        last = values[-1]
        return f"{last.get('type', 'Error')}: {last.get('value', '')}".strip(": ")
    message = event.get("message")
    if isinstance(message, dict):
        message = message.get("formatted") or message.get("message")
    return str(message or event.get("logentry", {}).get("message") or "<unlabeled event>")


def grouping(event: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """(group key, issue title, issue fields) of an SDK event: grouped by its fingerprint
    when it has one, else by its title."""
    title = _title(event)
    key = json.dumps(event.get("fingerprint") or [title])
    fields = {
        "level": event.get("level") or "error",
        "culprit": event.get("culprit") or event.get("transaction") or "",
        "platform": event.get("platform") or "other",
        "metadata": {"title": title},
        "type": "error",
    }
    return key, title[:200], fields


def issue_event(event: dict[str, Any]) -> dict[str, Any]:
    """The event as Sentry's REST API shows it: tags as key/value pairs, contexts kept."""
    tags = event.get("tags") or {}
    pairs = tags.items() if isinstance(tags, dict) else (tuple(t) for t in tags)
    return {
        "tags": [{"key": str(k), "value": str(v)} for k, v in pairs],
        "contexts": event.get("contexts") or {},
        "platform": event.get("platform") or "other",
        "release": event.get("release"),
        "environment": event.get("environment"),
        "message": _title(event),
    }


def send_webhook(url: str, secret: str, resource: str, action: str, data: dict[str, Any]) -> tuple[int, Any]:
    """Deliver one signed integration webhook (Sentry-Hook-* headers, HMAC-SHA256 of the
    raw body); returns the receiver's status and JSON answer."""
    document = {
        "action": action,
        "actor": {"id": "sentry", "name": "Sentry", "type": "application"},
        "data": data,
        "installation": {"uuid": INSTALLATION},
    }
    body = json.dumps(document, separators=(",", ":")).encode()
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Request-ID": uuid.uuid4().hex,
            "Sentry-Hook-Resource": resource,
            "Sentry-Hook-Timestamp": str(int(time.time())),
            "Sentry-Hook-Signature": hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")
