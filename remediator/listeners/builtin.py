"""remediator's own listeners that belong to no integration: the log and the rule breaker."""

from __future__ import annotations

import logging

from remediator.jobs import controls
from remediator.lifecycle import Event, EventKind, Listener

log = logging.getLogger("remediator.events")


class EventLog(Listener):
    """One log line per event. In-process; costs a log record."""

    name = "log"
    events = frozenset(EventKind)

    def handle(self, event: Event) -> str | None:
        """Log the event."""
        if not log.isEnabledFor(logging.INFO):
            return None
        subject = (
            f"job {event.job_id}"
            if event.job
            else f"rule {event.rule}"
            if event.rule
            else f"tier {event.tier}"
        )
        by = f" by {event.actor}" if event.actor else ""
        log.info("%s: %s%s %s", subject, event.kind.value, by, event.detail or "")
        return None


class RuleBreaker(Listener):
    """Each rule's circuit breaker: consecutive failed or ineffective jobs open it. Good
    outcomes since the last bad one (verified, or succeeded where no verification follows)
    reset the count; they are read from the rule's outcome counts when a bad one arrives,
    so a success sends the breaker nothing. Remote: it writes to Redis, never on the
    webhook's path."""

    name = "breaker"
    remote = True

    def accepts(self, event: Event) -> bool:
        """Only outcomes of jobs that ran count (not a job refused at submission)."""
        return event.job is not None and event.job.attempts > 0

    def _bad(self, event: Event) -> str | None:
        job = event.job
        if job is None:
            return None
        client = self.ctx.store.client
        counts = self.ctx.store.rule_stats([job.rule])[job.rule]
        good = counts["verified"] if self.ctx.will_verify(job) else counts["succeeded"]
        reason = controls.note_bad_outcome(client, job.rule, job.id, job.breaker_after, good)
        if reason is None:
            return None
        self.ctx.store.add_note(job.id, "breaker", ok=False, detail=f"rule {job.rule!r} disabled: {reason}")
        if self.ctx.emit is not None:
            opened = Event(
                kind=EventKind.BREAKER_OPENED,
                job=job,
                rule=job.rule,
                tier=job.tier,
                detail={"reason": reason},
            )
            self.ctx.emit(opened)
        return f"rule {job.rule!r} disabled"

    def on_failed(self, event: Event) -> str | None:
        """Count a failure."""
        return self._bad(event)

    def on_ineffective(self, event: Event) -> str | None:
        """Count a fix that did not hold."""
        return self._bad(event)
