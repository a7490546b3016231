"""The task that hands one event to the remote listeners that want it, retrying each
listener on its own with backoff."""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task

from remediator import defaults
from remediator.lifecycle import Event
from remediator.tasks.worker_process import worker_lifecycle


def backoff(attempt: int) -> float:
    """Seconds before attempt+1: 5 s doubling, at most 5 minutes."""
    return float(min(300, 5 * 2 ** (attempt - 1)))


@shared_task(name=defaults.DELIVER_TASK, bind=True, ignore_result=True)
def deliver(self: Task, event: dict[str, Any], listeners: list[str], attempt: int = 1) -> dict[str, Any]:
    """Run the named listeners on the event; those that failed and may pass get another
    message of their own, later."""
    parsed = Event.model_validate(event)
    retry = worker_lifecycle().bus.deliver(parsed, listeners, attempt)
    if retry and attempt < defaults.DELIVER_MAX_ATTEMPTS:
        self.app.send_task(
            defaults.DELIVER_TASK,
            args=[event, retry, attempt + 1],
            queue=defaults.queue_for(parsed.tier or defaults.DEFAULT_TIERS[0]),
            priority=defaults.FOLLOWUP_PRIORITY,
            countdown=backoff(attempt),
            ignore_result=True,
        )
    return {"delivered": [n for n in listeners if n not in retry], "retry": retry}
