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


def grouping(event: dict[str, Any]) -> str:
    """The group key of an SDK event: its fingerprint when it has one, else its title."""
    return json.dumps(event.get("fingerprint") or [_title(event)])


def normalized(event: dict[str, Any]) -> dict[str, Any]:
    """An SDK's event as ingestion leaves it (what the stand-in stores and renders): tags as
    sorted pairs with the environment, release, level and handled among them, the title,
    culprit, metadata and type Sentry computes."""
    tags = event.get("tags") or {}
    pairs = dict(tags.items() if isinstance(tags, dict) else (tuple(t) for t in tags))
    values = (event.get("exception") or {}).get("values") or []
    last = values[-1] if values else {}
    frames = ((last.get("stacktrace") or {}).get("frames") or []) if last else []
    in_app = [f for f in frames if f.get("in_app")]
    top = (in_app or frames or [{}])[-1]
    mechanism = last.get("mechanism") or {}
    for key in ("environment", "release", "level"):
        if event.get(key) and key not in pairs:
            pairs[key] = str(event[key])
    if isinstance(mechanism.get("handled"), bool):
        pairs.setdefault("handled", "yes" if mechanism["handled"] else "no")
        pairs.setdefault("mechanism", str(mechanism.get("type") or "generic"))
    where = top.get("module") or top.get("filename") or ""
    culprit = (
        event.get("culprit")
        or event.get("transaction")
        or (f"{where} in {top['function']}" if top.get("function") else where)
    )
    metadata = (
        {
            "type": last.get("type"),
            "value": last.get("value"),
            "filename": top.get("filename"),
            "function": top.get("function"),
        }
        if last
        else {"title": _title(event)}
    )
    return {
        **{k: v for k, v in event.items() if k not in ("tags", "extra", "modules", "_meta")},
        "type": "error" if values else str(event.get("type") or "default"),
        "title": _title(event)[:200],
        "culprit": culprit,
        "metadata": metadata,
        "platform": event.get("platform") or "other",
        "level": event.get("level") or "error",
        "tags": sorted((str(k), str(v)) for k, v in pairs.items()),
        "timestamp": time.time(),
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
