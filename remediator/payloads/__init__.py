"""Sentry's webhook bodies as pydantic models, and the Subject rules look at."""

from remediator.payloads.models import MODELS, SeerWebhook, Webhook, decode_json, parse_seer, parse_webhook
from remediator.payloads.subject import Deploy, Subject, content_id, subject_of

__all__ = [
    "MODELS",
    "Deploy",
    "SeerWebhook",
    "Subject",
    "Webhook",
    "content_id",
    "decode_json",
    "parse_seer",
    "parse_webhook",
    "subject_of",
]
