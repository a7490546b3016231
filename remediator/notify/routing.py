"""The notifications listener: which routes an event takes, what goes out now and what waits
for the digest, and PagerDuty's resolve once a job of the incident's rule and issue is
verified. Sending is a task per message and channel (`remediator.notify`), so one channel's
trouble never holds another back."""

from __future__ import annotations

import logging
from typing import Any

from remediator import defaults
from remediator.lifecycle import Event, EventKind, Listener, ListenerContext
from remediator.metrics.instruments import NOTIFICATIONS
from remediator.notify import digest
from remediator.notify.message import message_for
from remediator.rules.notify_section import Notify, PagerDutyChannel

log = logging.getLogger(__name__)

RESOLVING = frozenset({EventKind.VERIFIED, EventKind.ISSUE_RESOLVED})
"""Events that resolve the PagerDuty incident of their rule and Sentry issue."""


def _notify(ctx: ListenerContext) -> Notify | None:
    rules = ctx.current_rules()
    return None if rules is None else rules.notify


def scope_of(event: Event) -> str:
    """What a digest window counts per route: the rule, else the tier."""
    return event.rule or f"tier:{event.tier}"


def queue_message(
    celery: Any,
    channel: str,
    message: dict[str, Any],
    tier: str | None,
    attempt: int = 1,
    countdown: float | None = None,
) -> None:
    """One send task, first in line on the tier's queue."""
    celery.send_task(
        defaults.NOTIFY_TASK,
        args=[channel, message, attempt],
        queue=defaults.queue_for(tier or defaults.DEFAULT_TIERS[0]),
        priority=defaults.FOLLOWUP_PRIORITY,
        countdown=countdown,
        ignore_result=True,
    )


class Notifications(Listener):
    """Routes events to channels as the rule file's `notify:` section says."""

    name = "notify"
    remote = True
    events = frozenset(EventKind)

    @classmethod
    def active(cls, ctx: ListenerContext) -> bool:
        """Only in a process that runs a rule file (whether it has routes now is for
        `accepts`: the file may be reloaded)."""
        return ctx.rules is not None

    def accepts(self, event: Event) -> bool:
        """A message only for events a route takes (or a verification that may resolve a
        PagerDuty incident): everything else costs the emitter nothing."""
        notify = _notify(self.ctx)
        if notify is None:
            return False
        if event.kind in RESOLVING and self._pagerduty(notify):
            return True
        # A route whose channels are all disabled costs nothing either.
        return any(any(c in notify.usable for c in route.to) for _, route in self._routes(notify, event))

    def handle(self, event: Event) -> str | None:
        """Send now, or hold for the digest; resolve PagerDuty incidents on verification."""
        notify = _notify(self.ctx)
        if notify is None:
            return None
        client = self.ctx.store.client
        message = message_for(event, self.ctx.settings)
        done: list[str] = []
        for index, route in self._routes(notify, event):
            targets = [c for c in route.to if c in notify.usable]
            if not targets:
                continue
            window = notify.window(route)
            scope = scope_of(event)
            if digest.open_window(client, index, scope, window):
                for channel in targets:
                    queue_message(self.ctx.celery, channel, message.to_dict(), event.tier)
                if window > 0:
                    self.ctx.celery.send_task(
                        defaults.NOTIFY_DIGEST_TASK,
                        args=[index, scope, event.rule, event.tier, window],
                        queue=defaults.queue_for(event.tier or defaults.DEFAULT_TIERS[0]),
                        priority=defaults.FOLLOWUP_PRIORITY,
                        countdown=window,
                        ignore_result=True,
                    )
                done.append(f"route #{index + 1} → {', '.join(targets)}")
            else:
                entry = {
                    "kind": event.kind.value,
                    "title": message.headline,
                    "job_id": event.job_id,
                    "tier": event.tier,
                    "issue_id": message.issue_id,
                }
                digest.hold(client, index, scope, entry, window)
                for channel in targets:
                    NOTIFICATIONS.labels(channel, "held").inc()
                done.append(f"route #{index + 1}: held for the digest")
        if event.kind in RESOLVING:
            resolve = {**message.to_dict(), "kind": "resolve"}
            for name in self._pagerduty(notify):
                if digest.pagerduty_take_open(client, name, message.dedup_key):
                    queue_message(self.ctx.celery, name, resolve, event.tier)
                    done.append(f"{name}: resolve {message.dedup_key}")
        return "; ".join(done) or None

    @staticmethod
    def _routes(notify: Notify, event: Event) -> Any:
        job = event.job
        return notify.routes_for(
            event.kind.value,
            event.tier,
            job.priority_class.value if job else None,
            job.namespace if job else None,
            event.rule,
        )

    @staticmethod
    def _pagerduty(notify: Notify) -> list[str]:
        return [name for name, ch in notify.usable.items() if isinstance(ch, PagerDutyChannel)]
