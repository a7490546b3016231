"""The one place a job's status changes: compare-and-set in Redis, then one event."""

from __future__ import annotations

import logging
import time
from typing import Any

from remediator.errors import JobNotFound, JobStateError
from remediator.jobs.model import FINISHED, Job, JobStatus
from remediator.jobs.store import JobStore
from remediator.lifecycle.bus import Bus
from remediator.lifecycle.events import Event
from remediator.lifecycle.transitions import event_for

log = logging.getLogger(__name__)


class Lifecycle:
    """Moves jobs along the transition table (`transitions.py`) and emits each move."""

    def __init__(self, store: JobStore, bus: Bus | None = None) -> None:
        self.store = store
        self.bus = bus or Bus(store=store)

    def emit(self, event: Event) -> None:
        """Hand an event to the listeners (never raises)."""
        self.bus.emit(event)

    def created(self, job: Job, actor: str | None = None, **detail: Any) -> Job:
        """Announce a record just written in its first status (after the gate's decision;
        the writer started its timeline with the same event)."""
        self.emit(Event.for_job(event_for(None, job.status), job, actor, **detail))
        return job

    def move(
        self,
        job: Job,
        old: JobStatus,
        new: JobStatus,
        actor: str | None = None,
        detail: dict[str, Any] | None = None,
        **fields: Any,
    ) -> Job | None:
        """Move the job from old to new if it is still old (else None); the outcome is
        counted for its rule and a final status frees its concurrency slot in the same step.
        Emits the transition's event with the job as it now is."""
        kind = event_for(old, new)
        counts = self.bus.counts(kind, job, time.time())
        moved = self.store.transition(
            job,
            old,
            new,
            count_outcome=True,
            release_slot=new in FINISHED,
            event=kind.value,
            actor=actor,
            counts=counts,
            **fields,
        )
        if moved is None:
            return None
        self.emit(Event.for_job(kind, moved, actor, **(detail or {})))
        return moved

    def decide(
        self, job_id: str, old: JobStatus, new: JobStatus, actor: str | None = None, **fields: Any
    ) -> Job:
        """An operator's decision: move the job or raise saying why it cannot move."""
        job = self.store.get(job_id)
        if job is None:
            raise JobNotFound(f"no job {job_id}")
        moved = self.move(job, old, new, actor=actor, **fields)
        if moved is None:
            current = self.store.get(job_id)
            status = current.status.value if current else "gone"
            raise JobStateError(f"job {job_id} is {status}, not {old.value}")
        return moved

    def claim(self, job_id: str, worker: str) -> Job | str:
        """Start an attempt on a worker if the job may still run (queued, or running and
        redelivered after a crash); emits `started` with the attempt number. Otherwise
        returns why not ("no record", or the job's status)."""
        claimed = self.store.claim(job_id, worker)
        if isinstance(claimed, str):
            return claimed
        self.emit(
            Event.for_job(
                event_for(JobStatus.QUEUED, JobStatus.RUNNING), claimed, worker, attempt=claimed.attempts
            )
        )
        return claimed
