"""Handing each event to the listeners that want it, each failure kept to itself."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from remediator.errors import ListenerFailed
from remediator.jobs.model import Job
from remediator.jobs.store import JobStore
from remediator.lifecycle.events import Event, EventKind
from remediator.lifecycle.listener import Listener

log = logging.getLogger(__name__)

Publish = Callable[[Event, list[str]], None]
"""Sends one message that delivers an event to the named remote listeners."""


class Bus:
    """In-process listeners run at once; remote ones get one message per event (none when
    no remote listener wants it), which a Celery task fans out (see `deliver`)."""

    def __init__(
        self,
        listeners: Sequence[Listener] = (),
        publish: Publish | None = None,
        store: JobStore | None = None,
    ) -> None:
        self.listeners = {listener.name: listener for listener in listeners}
        self.publish = publish
        self.store = store
        """Where failures (and remote attempts) are noted on the job."""
        self._local: dict[EventKind, list[Listener]] = {}
        self._remote: dict[EventKind, list[Listener]] = {}
        self._counting = [
            listener
            for listener in listeners
            if not listener.remote and type(listener).counts is not Listener.counts
        ]
        for listener in listeners:
            for kind in listener.wants():
                if listener.remote:
                    self._remote.setdefault(kind, []).append(listener)
                else:
                    self._local.setdefault(kind, []).append(listener)

    def remote_for(self, event: Event) -> list[str]:
        """The names of the remote listeners that want this event."""
        return [listener.name for listener in self._remote.get(event.kind, ()) if listener.accepts(event)]

    def emit(self, event: Event) -> None:
        """Tell every listener that wants it; never raises."""
        for listener in self._local.get(event.kind, ()):
            if listener.accepts(event):
                self._run(listener, event, attempt=None)
        names = self.remote_for(event)
        if names and self.publish is not None:
            try:
                self.publish(event, names)
            except Exception as exc:
                log.error("event %s of job %s: could not queue %s: %s", event.kind, event.job_id, names, exc)
                self._note(event, "+".join(names), ok=False, error=f"not queued: {exc}")

    def counts(self, kind: EventKind, job: Job, at: float) -> dict[str, int]:
        """The trend counters the in-process listeners add for this change (summed); a
        listener that raises adds nothing and never stops the change."""
        total: dict[str, int] = {}
        for listener in self._counting:
            try:
                found = listener.counts(kind, job, at)
            except Exception:
                log.exception("listener %s raised counting %s of job %s", listener.name, kind, job.id)
                continue
            for name, n in found.items():
                total[name] = total.get(name, 0) + n
        return {name: n for name, n in total.items() if n}

    def deliver(self, event: Event, names: Sequence[str], attempt: int) -> list[str]:
        """Run the named remote listeners (inside the delivery task); returns the names
        whose attempt failed and may pass on a retry."""
        retry = []
        for name in names:
            listener = self.listeners.get(name)
            if listener is None:
                log.warning("event %s: no listener %r in this process; dropped", event.kind, name)
                self._note(event, name, ok=False, error="no such listener here", attempt=attempt)
                continue
            if self._run(listener, event, attempt) is False:
                retry.append(name)
        return retry

    def _run(self, listener: Listener, event: Event, attempt: int | None) -> bool | None:
        """Run one listener; True on success, False for a failure worth retrying, None for
        one that is not."""
        try:
            detail = listener.handle(event)
        except ListenerFailed as exc:
            log.warning("listener %s on %s of job %s: %s", listener.name, event.kind, event.job_id, exc)
            self._note(event, listener.name, ok=False, error=str(exc), attempt=attempt)
            return False if exc.retry else None
        except Exception as exc:
            log.exception("listener %s raised on %s of job %s", listener.name, event.kind, event.job_id)
            self._note(event, listener.name, ok=False, error=f"{type(exc).__name__}: {exc}", attempt=attempt)
            return False
        if attempt is not None:
            self._note(event, listener.name, ok=True, attempt=attempt, detail=detail)
        return True

    def _note(
        self,
        event: Event,
        listener: str,
        ok: bool,
        attempt: int | None = None,
        error: str | None = None,
        detail: str | None = None,
    ) -> None:
        if self.store is None or event.job is None:
            return
        fields: dict[str, object] = {"listener": listener, "event": event.kind.value, "ok": ok}
        fields |= {k: v for k, v in (("attempt", attempt), ("error", error), ("detail", detail)) if v}
        try:
            self.store.add_note(event.job.id, "listener", **fields)
        except Exception as exc:  # the note is a side channel too
            log.error("job %s: could not note listener %s: %s", event.job.id, listener, exc)
