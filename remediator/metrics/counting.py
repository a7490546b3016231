"""The listener that counts: in-process, no I/O (prometheus_client writes its own memory or,
in multiprocess mode, its own mmap'd file)."""

from __future__ import annotations

from remediator.lifecycle import Event, EventKind, Listener
from remediator.lifecycle.events import JOB_EVENTS
from remediator.metrics.instruments import JOB_DURATION, JOB_WAIT, JOBS


class Metrics(Listener):
    """Counts every job event by the status it left; times runs and waits."""

    name = "metrics"
    events = JOB_EVENTS - {EventKind.SEER_PROGRESS}

    def handle(self, event: Event) -> str | None:
        """Count the event; observe the run's duration or the job's wait when it has one."""
        job = event.job
        if job is None:
            return None
        JOBS.labels(job.rule, job.script, job.tier, job.status.value).inc()
        if event.kind == EventKind.STARTED and job.attempts == 1 and job.started_at is not None:
            JOB_WAIT.labels(job.tier, job.priority_class.value).observe(
                max(0.0, job.started_at - job.created_at)
            )
        elif event.kind in (EventKind.SUCCEEDED, EventKind.FAILED) and job.duration is not None:
            JOB_DURATION.labels(job.script, job.tier).observe(max(0.0, job.duration))
        return None
