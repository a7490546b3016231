"""A job's life as events: the transition table, the events, listeners, and the bus.

`Lifecycle` (machine.py) is the one place a job's status changes; each change emits exactly
one `Event`, which the `Bus` hands to every listener that wants it: in-process listeners at
once, remote ones (network I/O) in one Celery task per event.
"""

from remediator.lifecycle.bus import Bus
from remediator.lifecycle.events import Event, EventKind
from remediator.lifecycle.listener import Listener, ListenerContext
from remediator.lifecycle.machine import Lifecycle
from remediator.lifecycle.transitions import TRANSITIONS, event_for

__all__ = [
    "TRANSITIONS",
    "Bus",
    "Event",
    "EventKind",
    "Lifecycle",
    "Listener",
    "ListenerContext",
    "event_for",
]
