"""remediator's own listeners that belong to no integration: the log and the rule breaker."""

from __future__ import annotations

import logging

from remediator.jobs import Job, controls
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
    """Each rule's circuit breaker: consecutive failed or ineffective jobs open it; a good
    outcome resets the count. Remote: it writes to Redis, never on the webhook's path."""

    name = "breaker"
    remote = True

    @classmethod
    def accepts(cls, event: Event) -> bool:
        """Only outcomes of jobs that ran count (not a job refused at submission)."""
        return event.job is not None and event.job.attempts > 0

    def _bad(self, event: Event, outcome: str) -> str | None:
        job = event.job
        if job is None:
            return None
        reason = controls.note_outcome(
            self.ctx.store.client, job.rule, outcome, job.id, job.breaker_after, resets=False
        )
        if reason is None:
            return None
        self.ctx.store.add_note(job.id, "breaker", ok=False, detail=f"rule {job.rule!r} disabled: {reason}")
        if self.ctx.emit is not None:
            self.ctx.emit(
                Event(
                    kind=EventKind.BREAKER_OPENED,
                    job=job,
                    rule=job.rule,
                    tier=job.tier,
                    detail={"reason": reason},
                )
            )
        return f"rule {job.rule!r} disabled"

    def _good(self, job: Job | None) -> None:
        if job is not None:
            controls.note_outcome(
                self.ctx.store.client, job.rule, "verified", job.id, job.breaker_after, resets=True
            )

    def on_failed(self, event: Event) -> str | None:
        """Count a failure."""
        return self._bad(event, "failed")

    def on_ineffective(self, event: Event) -> str | None:
        """Count a fix that did not hold."""
        return self._bad(event, "ineffective")

    def on_verified(self, event: Event) -> str | None:
        """A fix that held resets the count."""
        self._good(event.job)
        return None

    def on_succeeded(self, event: Event) -> str | None:
        """A success resets the count when no verification will follow."""
        if event.job is not None and not self.ctx.will_verify(event.job):
            self._good(event.job)
        return None
