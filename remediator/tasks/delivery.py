"""Sending notifications: one task per message and channel, retried on its own (honouring
Retry-After), each attempt a note on the job; and the digest of what a route held back."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task

from remediator import defaults
from remediator.errors import NotificationFailed
from remediator.metrics.instruments import NOTIFICATIONS
from remediator.notify import digest
from remediator.notify.channels import send
from remediator.notify.message import Message, digest_message
from remediator.notify.routing import queue_message
from remediator.rules.notify_section import PagerDutyChannel
from remediator.settings import get_settings
from remediator.tasks.events import backoff
from remediator.tasks.worker_process import worker_rules, worker_store

log = logging.getLogger(__name__)

MAX_RETRY_AFTER_SECONDS = 3600.0
"""The longest Retry-After honoured as given (a longer one waits this long)."""


@shared_task(name=defaults.NOTIFY_TASK, bind=True, ignore_result=True)
def notify(self: Task, channel: str, message: dict[str, Any], attempt: int = 1) -> str:
    """Send one message to one channel; on a failure that may pass, send this task again
    after the service's Retry-After (or the backoff)."""
    parsed = Message.from_dict(message)
    store = worker_store()
    config = worker_rules().notify.usable.get(channel)
    note = {"channel": channel, "event": parsed.kind, "attempt": attempt}
    if config is None:
        why = worker_rules().notify.disabled.get(channel, "not in the rule file")
        _note(store, parsed, ok=False, error=f"channel {channel!r} is not usable here: {why}", **note)
        NOTIFICATIONS.labels(channel, "failed").inc()
        return "no such channel"
    try:
        answer = send(config, parsed, get_settings())
    except NotificationFailed as exc:
        if exc.retry and attempt < defaults.NOTIFY_MAX_ATTEMPTS:
            wait = min(exc.retry_after, MAX_RETRY_AFTER_SECONDS) if exc.retry_after else backoff(attempt)
            _note(store, parsed, ok=False, error=f"{exc}; again in {wait:g} s", **note)
            NOTIFICATIONS.labels(channel, "retried").inc()
            self.app.send_task(
                defaults.NOTIFY_TASK,
                args=[channel, message, attempt + 1],
                queue=defaults.queue_for(parsed.tier or defaults.DEFAULT_TIERS[0]),
                priority=defaults.FOLLOWUP_PRIORITY,
                countdown=wait,
                ignore_result=True,
            )
            return "retry"
        _note(store, parsed, ok=False, error=f"{exc}; given up", **note)
        NOTIFICATIONS.labels(channel, "failed").inc()
        log.warning("notification to %s failed for good: %s", channel, exc)
        return "failed"
    if isinstance(config, PagerDutyChannel) and parsed.kind != "resolve":
        digest.pagerduty_opened(store.client, channel, parsed.dedup_key)
    _note(store, parsed, ok=True, detail=answer, **note)
    NOTIFICATIONS.labels(channel, "sent").inc()
    return answer


@shared_task(name=defaults.NOTIFY_DIGEST_TASK, bind=True, ignore_result=True)
def notify_digest(
    self: Task, route: int, scope: str, rule: str | None, tier: str | None, window: float
) -> str:
    """When a route's window closes: one message with what it held back (none if nothing)."""
    store = worker_store()
    held = digest.take_held(store.client, route, scope)
    if not held:
        return "nothing held"
    notify_config = worker_rules().notify
    if route >= len(notify_config.routes):
        return "route gone (the rule file changed)"
    message = digest_message(rule, window, held, get_settings())
    targets = [c for c in notify_config.routes[route].to if c in notify_config.usable]
    for channel in targets:
        queue_message(self.app, channel, message.to_dict(), tier)
    return f"digest of {len(held)} to {', '.join(targets)}"


def _note(store: Any, message: Message, **fields: Any) -> None:
    if message.job_id is None:
        return
    try:
        store.add_note(message.job_id, "notify", **fields)
    except Exception as exc:  # the note is a side channel
        log.error("job %s: could not note a notification: %s", message.job_id, exc)
