"""The base class of every listener: one hook per event, each doing nothing by default."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from remediator.jobs.model import Job
from remediator.jobs.store import JobStore
from remediator.lifecycle.events import Event, EventKind
from remediator.rules import RuleSet
from remediator.settings import Settings


@dataclass
class ListenerContext:
    """What a listener may use: the settings, the job store, the Celery app (to schedule
    follow-ups) and `emit` (to report events of its own, such as a breaker opening)."""

    settings: Settings
    store: JobStore
    celery: Any = None
    emit: Callable[[Event], None] | None = None
    will_verify: Callable[[Job], bool] = lambda job: False
    """Whether a success of this job will be verified (by its rule's strategy) later."""
    rules: RuleSet | Callable[[], RuleSet] | None = None
    """The rule file this process runs (the notify section's routes, for instance): the
    rule set, or what returns the current one (rules reload while the process runs)."""
    bus: Any = None
    """The bus the listener is on (to build a Lifecycle that submits follow-up jobs)."""

    def current_rules(self) -> RuleSet | None:
        """The rules as they are now (read them at each use: they may have been reloaded)."""
        rules = self.rules
        return rules() if callable(rules) else rules


class Listener:
    """React to events by overriding `on_<event>` hooks; the events a listener wants are the
    hooks it overrides (or `events`, when set).

    A listener that does network I/O sets `remote = True`: it then never runs on the
    webhook's path nor inside a job's time limit, but in a Celery task of its own, retried
    with backoff, each attempt a note on the job. In-process listeners (remote = False) must
    do no I/O. A hook may return a short text to keep in the attempt's note. Whatever a
    listener raises is logged and noted; it never changes the job's outcome.
    """

    name: ClassVar[str]
    """Unique name (registry key, shown in notes)."""
    remote: ClassVar[bool] = False
    events: ClassVar[frozenset[EventKind] | None] = None
    """The events wanted; None: those whose hook the class overrides."""
    strategy: ClassVar[str | None] = None
    """Set by a verification strategy: the name rules give as `verify:`. Such a listener
    reacts to `succeeded` of its jobs and later moves them to verified or ineffective."""

    def __init__(self, ctx: ListenerContext) -> None:
        self.ctx = ctx

    @classmethod
    def active(cls, ctx: ListenerContext) -> bool:
        """Whether this listener has anything to do in this configuration."""
        return True

    @classmethod
    def will_verify(cls, job: Job, settings: Settings) -> bool:
        """For a verification strategy: whether this job's success will be checked."""
        return False

    def accepts(self, event: Event) -> bool:
        """A finer filter on an event of a wanted kind, doing no I/O (it may read the
        listener's configuration): a remote listener that says no costs the emitter no
        message."""
        return True

    @classmethod
    def wants(cls) -> frozenset[EventKind]:
        """The events this listener reacts to."""
        return cls.events if cls.events is not None else _overridden(cls)

    def counts(self, kind: EventKind, job: Job, at: float) -> dict[str, int]:
        """Counters this change of a job adds to in the hourly trend bucket of `at`, written
        in the record's own transaction: an in-process listener counts without I/O of its
        own. Called before the change is stored (job: the record as it was); none by default."""
        return {}

    def handle(self, event: Event) -> str | None:
        """Call the hook for the event's kind."""
        hook: Callable[[Event], str | None] = getattr(self, f"on_{event.kind.value}")
        return hook(event)

    def on_submitted(self, event: Event) -> str | None:
        """A job was recorded and queued."""

    def on_duplicate(self, event: Event) -> str | None:
        """A repeated delivery was recorded as a duplicate."""

    def on_coalesced(self, event: Event) -> str | None:
        """A match joined a job already pending for the same key."""

    def on_throttled(self, event: Event) -> str | None:
        """once_within, max_runs or the tier cap said no."""

    def on_suppressed(self, event: Event) -> str | None:
        """The rule's breaker is open; nothing ran."""

    def on_held(self, event: Event) -> str | None:
        """Remediation is paused; the job waits for release or discard."""

    def on_dry_run(self, event: Event) -> str | None:
        """Evaluated and recorded; nothing ran."""

    def on_awaiting_approval(self, event: Event) -> str | None:
        """The job waits for a person."""

    def on_approved(self, event: Event) -> str | None:
        """A person approved the job; it is queued."""

    def on_rejected(self, event: Event) -> str | None:
        """A person rejected the job."""

    def on_expired(self, event: Event) -> str | None:
        """Nobody approved the job in time."""

    def on_started(self, event: Event) -> str | None:
        """A worker started an attempt (detail: attempt)."""

    def on_succeeded(self, event: Event) -> str | None:
        """The script succeeded."""

    def on_failed(self, event: Event) -> str | None:
        """The script failed, was killed, or its params never validated."""

    def on_needs_attention(self, event: Event) -> str | None:
        """A non-idempotent job was redelivered after a crash and not run again."""

    def on_skipped(self, event: Event) -> str | None:
        """The script found nothing worth doing (the job's reason says why)."""

    def on_verified(self, event: Event) -> str | None:
        """The fix held (detail depends on the verification strategy)."""

    def on_ineffective(self, event: Event) -> str | None:
        """The fix did not hold."""

    def on_cancelled(self, event: Event) -> str | None:
        """The issue was resolved or ignored before the job started."""

    def on_discarded(self, event: Event) -> str | None:
        """A held job was dropped."""

    def on_released(self, event: Event) -> str | None:
        """A held job was queued."""

    def on_breaker_opened(self, event: Event) -> str | None:
        """A rule disabled itself (detail: reason)."""

    def on_breaker_closed(self, event: Event) -> str | None:
        """A person re-enabled a rule."""

    def on_heartbeat_error(self, event: Event) -> str | None:
        """A tier's heartbeat turned unhealthy (detail: problems)."""

    def on_heartbeat_ok(self, event: Event) -> str | None:
        """A tier's heartbeat is healthy."""

    def on_seer_progress(self, event: Event) -> str | None:
        """A Seer run of the job reached a stage (detail: action)."""

    def on_rule_promoted(self, event: Event) -> str | None:
        """A canary rule was promoted (detail: reason)."""

    def on_rule_demoted(self, event: Event) -> str | None:
        """A promoted rule went back to canary (detail: reason)."""

    def on_issue_resolved(self, event: Event) -> str | None:
        """Sentry resolved an issue a rule acted on (detail: issue_id)."""


def _overridden(cls: type[Listener]) -> frozenset[EventKind]:
    return frozenset(
        kind
        for kind in EventKind
        if getattr(cls, f"on_{kind.value}") is not getattr(Listener, f"on_{kind.value}")
    )
