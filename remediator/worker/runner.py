"""Running one job inside a worker: claim it, run the script, record the outcome.

Every status change goes through the lifecycle, so whatever reacts to a job (comments,
verification, telemetry, the breaker) is a listener, not a branch here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from billiard.exceptions import SoftTimeLimitExceeded
from pydantic import ValidationError

from remediator.errors import JobSkipped, NeedsAttention, ScriptError
from remediator.jobs import FINISHED, Job, JobStatus
from remediator.jobs.store import NO_RECORD
from remediator.lifecycle import Lifecycle
from remediator.redaction import register_secret
from remediator.remediation_scripts import registry
from remediator.scripts import ScriptContext, secret_values

log = logging.getLogger(__name__)

ContextFactory = Callable[[Job], ScriptContext]
"""Builds the context a job's script runs with."""


def run_job(lifecycle: Lifecycle, job_id: str, worker: str, context: ContextFactory) -> Job | None:
    """Run the job's script and record how it ended; returns the finished job, or None if
    there was nothing to run (no record, cancelled, already finished)."""
    claimed = lifecycle.claim(job_id, worker)
    if claimed == NO_RECORD:
        log.error("job %s: no record (expired or never stored); nothing to run", job_id)
        return None
    if isinstance(claimed, str):
        log.warning("job %s: %s; not running it", job_id, claimed)
        return None
    job = claimed
    script_cls = registry().get(job.script)
    if job.attempts > 1 and script_cls is not None and not script_cls.idempotent:
        return _needs_attention(lifecycle, job)
    log.info("job %s: %s attempt %d on %s", job_id, job.script, job.attempts, worker)
    ctx = context(job)
    started = time.monotonic()
    error: str | None = None
    output: dict[str, Any] = {}
    try:
        if script_cls is None:
            raise ScriptError(f"unknown script {job.script!r}; known: {', '.join(sorted(registry()))}")
        for value in secret_values(script_cls, job.params):
            register_secret(value)
        params = script_cls.Params.model_validate(job.params)
        output = script_cls().run(params, ctx)
    except ValidationError as exc:
        error = f"invalid params for {job.script}: {exc}"
    except (JobSkipped, NeedsAttention) as exc:
        # Neither succeeded nor failed: the job ends with the script's reason.
        ended = JobStatus.SKIPPED if isinstance(exc, JobSkipped) else JobStatus.NEEDS_ATTENTION
        log.info("job %s: %s: %s", job_id, ended.value, exc)
        return lifecycle.move(
            job,
            JobStatus.RUNNING,
            ended,
            output={"steps": ctx.steps, "duration_s": round(time.monotonic() - started, 3)},
            reason=str(exc),
            finished_at=time.time(),
        )
    except SoftTimeLimitExceeded:
        error = f"stopped at the soft time limit (hard limit {job.time_limit}s)"
    except ScriptError as exc:
        error = str(exc)
    except Exception as exc:
        log.exception("job %s: script %s raised", job_id, job.script)
        error = f"{type(exc).__name__}: {exc}"
    base = {"steps": ctx.steps, "duration_s": round(time.monotonic() - started, 3)}
    return lifecycle.move(
        job,
        JobStatus.RUNNING,
        JobStatus.FAILED if error else JobStatus.SUCCEEDED,
        output=base if error else {**output, **base},
        error=error,
        finished_at=time.time(),
    )


def _needs_attention(lifecycle: Lifecycle, job: Job) -> Job | None:
    reason = (
        f"attempt {job.attempts} after a crash: script {job.script!r} is not idempotent, so it "
        "is not run again blindly; check what the first attempt did, then resubmit"
    )
    log.warning("job %s: %s", job.id, reason)
    return lifecycle.move(
        job, JobStatus.RUNNING, JobStatus.NEEDS_ATTENTION, reason=reason, finished_at=time.time()
    )


def record_killed(lifecycle: Lifecycle, job_id: str, reason: str) -> Job | None:
    """Record a job the worker killed (hard time limit) unless it already has an outcome."""
    job = lifecycle.store.get(job_id)
    if job is None or job.status in FINISHED or job.status != JobStatus.RUNNING:
        return None
    return lifecycle.move(job, JobStatus.RUNNING, JobStatus.FAILED, error=reason, finished_at=time.time())


def record_revoked(lifecycle: Lifecycle, job_id: str, terminated: bool, expired: bool) -> Job | None:
    """Cancel a job whose message was revoked through Celery (Flower, `celery control
    revoke`) before or while it ran; None if it already has an outcome."""
    job = lifecycle.store.get(job_id)
    if job is None or job.status not in (JobStatus.QUEUED, JobStatus.RUNNING):
        return None
    how = "terminated while running" if terminated else "expired" if expired else "before it started"
    reason = f"revoked through Celery (Flower or `celery control revoke`), {how}"
    log.warning("job %s: %s", job_id, reason)
    return lifecycle.move(
        job,
        job.status,
        JobStatus.CANCELLED,
        actor="celery revoke",
        detail={"reason": reason},
        error=reason,
        finished_at=time.time(),
    )
