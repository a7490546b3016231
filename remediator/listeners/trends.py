"""The trends' counters: each job's outcome counted in its hour's bucket, in the same
transaction that records the outcome (see remediator.trends.buckets for what is counted)."""

from __future__ import annotations

from remediator.jobs import Job
from remediator.lifecycle import EventKind, Listener
from remediator.trends.buckets import job_counts


class TrendBuckets(Listener):
    """In-process and without I/O of its own: it names the counters, the store adds them."""

    name = "trends"
    events = frozenset()

    def counts(self, kind: EventKind, job: Job, at: float) -> dict[str, int]:
        """The outcome's counters (jobs per outcome; per rule, verified, ineffective and the
        time to verified recovery)."""
        return job_counts(kind, job, at)
