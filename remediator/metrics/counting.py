"""The listener that counts: in-process, no I/O (prometheus_client writes its own memory or,
in multiprocess mode, its own mmap'd file)."""

from __future__ import annotations

from remediator.lifecycle import Event, EventKind, Listener
from remediator.lifecycle.events import JOB_EVENTS
from remediator.metrics.instruments import ANALYSIS_COST, ANALYSIS_TOKENS, JOB_DURATION, JOB_WAIT, JOBS


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
        count_analysis_spend(event)
        return None


def count_analysis_spend(event: Event) -> None:
    """A finished analysis's tokens and cost: a succeeded one's from its output, a failed
    one's (its answers never validated, and were paid for) from its `analyse` step."""
    job = event.job
    if job is None:
        return
    if event.kind == EventKind.SUCCEEDED:
        _count_spend(job.output or {})
    elif event.kind == EventKind.FAILED:
        for step in (job.output or {}).get("steps") or ():
            if isinstance(step, dict) and step.get("step") == "analyse":
                _count_spend(step)


def _count_spend(output: dict[str, object]) -> None:
    """An analysis's tokens and cost, from what its job (or its failed step) recorded."""
    model = output.get("model")
    if not isinstance(model, str) or output.get("analyzer") != "llm":
        return
    for kind in ("prompt", "completion"):
        tokens = output.get(f"{kind}_tokens")
        if isinstance(tokens, int) and tokens > 0:
            ANALYSIS_TOKENS.labels(model, kind).inc(tokens)
    spent = output.get("cost")
    if isinstance(spent, int | float) and spent > 0:
        ANALYSIS_COST.labels(model).inc(spent)
