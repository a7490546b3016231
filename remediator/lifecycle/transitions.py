"""Which status changes a job may make, and the event each one is. Pure: no I/O."""

from __future__ import annotations

from remediator.errors import TransitionNotAllowed
from remediator.jobs.model import JobStatus as S
from remediator.lifecycle.events import EventKind as E

CREATED: dict[S, E] = {
    S.QUEUED: E.SUBMITTED,
    S.DUPLICATE: E.DUPLICATE,
    S.COALESCED: E.COALESCED,
    S.THROTTLED: E.THROTTLED,
    S.SUPPRESSED: E.SUPPRESSED,
    S.HELD: E.HELD,
    S.DRY_RUN: E.DRY_RUN,
    S.AWAITING_APPROVAL: E.AWAITING_APPROVAL,
    S.FAILED: E.FAILED,
}
"""The status a new record may start in (after the gate's decision), and its event."""

TRANSITIONS: dict[tuple[S, S], E] = {
    (S.AWAITING_APPROVAL, S.QUEUED): E.APPROVED,
    (S.AWAITING_APPROVAL, S.REJECTED): E.REJECTED,
    (S.AWAITING_APPROVAL, S.EXPIRED): E.EXPIRED,
    (S.AWAITING_APPROVAL, S.CANCELLED): E.CANCELLED,
    (S.HELD, S.QUEUED): E.RELEASED,
    (S.HELD, S.DISCARDED): E.DISCARDED,
    (S.HELD, S.CANCELLED): E.CANCELLED,
    (S.QUEUED, S.CANCELLED): E.CANCELLED,
    (S.QUEUED, S.RUNNING): E.STARTED,
    (S.QUEUED, S.NEEDS_ATTENTION): E.NEEDS_ATTENTION,
    (S.RUNNING, S.RUNNING): E.STARTED,
    (S.RUNNING, S.CANCELLED): E.CANCELLED,
    (S.RUNNING, S.SUCCEEDED): E.SUCCEEDED,
    (S.RUNNING, S.FAILED): E.FAILED,
    (S.RUNNING, S.NEEDS_ATTENTION): E.NEEDS_ATTENTION,
    (S.RUNNING, S.SKIPPED): E.SKIPPED,
    (S.SUCCEEDED, S.VERIFIED): E.VERIFIED,
    (S.SUCCEEDED, S.INEFFECTIVE): E.INEFFECTIVE,
}
"""Every status change a job may make after it was created, and the event it emits.
(running → running is a redelivery after a crash: another attempt starts; running →
cancelled is a revoke that terminated the attempt.)"""


def event_for(old: S | None, new: S) -> E:
    """The event of a change from old (None: a new record) to new; raises
    TransitionNotAllowed for a change the table does not have."""
    kind = CREATED.get(new) if old is None else TRANSITIONS.get((old, new))
    if kind is None:
        start = "a new job" if old is None else f"{old.value}"
        raise TransitionNotAllowed(f"a job may not go from {start} to {new.value}")
    return kind
