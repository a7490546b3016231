"""A listener that keeps every event it sees, for tests (in-process, no I/O)."""

from __future__ import annotations

import threading

from remediator.lifecycle import Event, EventKind, Listener, ListenerContext


class RecordingListener(Listener):
    """Records every event, in order."""

    name = "recorder"
    events = frozenset(EventKind)

    def __init__(self, ctx: ListenerContext | None = None) -> None:
        super().__init__(ctx)  # type: ignore[arg-type]
        self.seen: list[Event] = []
        self._lock = threading.Lock()

    def handle(self, event: Event) -> str | None:
        """Keep the event."""
        with self._lock:
            self.seen.append(event)
        return None

    def kinds(self, job_id: str | None = None) -> list[EventKind]:
        """The kinds seen (for one job, when given), in order."""
        return [e.kind for e in self.seen if job_id is None or e.job_id == job_id]
