"""Running one job inside a worker: claim the record, run the script, record the outcome."""

from __future__ import annotations

import logging
import time
from typing import Any

from billiard.exceptions import SoftTimeLimitExceeded
from pydantic import ValidationError

from remediator.errors import ScriptError
from remediator.jobs import FINISHED, Job, JobStatus, JobStore
from remediator.remediation_scripts import get_script
from remediator.scripts import Script, ScriptContext, secret_values
from remediator.sentry import telemetry

log = logging.getLogger(__name__)


class JobFailed(ScriptError):
    """Raised out of the Celery task after a failure is recorded, so Celery shows FAILURE."""


def run_job(store: JobStore, job_id: str, worker: str, verifiable: bool = False) -> Job | None:
    """Run the job's script and record how it ended; returns the finished job, or None if
    there was nothing to run (no record, cancelled, already finished).

    verifiable: whether Sentry will later be asked if the fix held; if not, a success
    counts as good for the rule's circuit breaker straight away.
    """
    job = store.get(job_id)
    if job is None:
        log.error("job %s: no record (expired or never stored); nothing to run", job_id)
        return None
    attempt = store.claim(job_id, worker)
    if attempt is None:
        log.warning("job %s: %s; not running it", job_id, job.status.value)
        return None
    job = job.model_copy(update={"attempts": attempt, "worker": worker})
    telemetry.start_job(job)
    try:
        script_cls: type[Script] | None = get_script(job.script)
    except KeyError:
        script_cls = None
    if attempt > 1 and script_cls is not None and not script_cls.idempotent:
        return _needs_attention(store, job, attempt)
    log.info("job %s: %s attempt %d on %s", job_id, job.script, attempt, worker)
    ctx = ScriptContext(job_id=job_id, tier=job.tier, namespace=job.namespace)
    started = time.monotonic()
    error: str | None = None
    try:
        if script_cls is None:
            raise ScriptError(f"unknown script {job.script!r}")
        for value in secret_values(script_cls, job.params):
            telemetry.register_secret(value)
        params = script_cls.Params.model_validate(job.params)
        output = script_cls().run(params, ctx)
    except ValidationError as exc:
        error = f"invalid params for {job.script}: {exc}"
    except SoftTimeLimitExceeded:
        error = f"stopped at the soft time limit (hard limit {job.time_limit}s)"
    except ScriptError as exc:
        error = str(exc)
    except Exception as exc:
        log.exception("job %s: script %s raised", job_id, job.script)
        error = f"{type(exc).__name__}: {exc}"
    base = {"steps": ctx.steps, "duration_s": round(time.monotonic() - started, 3)}
    fields: dict[str, Any] = {
        "status": JobStatus.FAILED if error else JobStatus.SUCCEEDED,
        "output": base if error else {**output, **base},
        "error": error,
        "finished_at": time.time(),
    }
    will_verify = verifiable and job.sentry_issue_id is not None
    store.finish(
        job, "failed" if error else "succeeded", resets_breaker=error is None and not will_verify, **fields
    )
    telemetry.finish_job(ok=error is None)
    return job.model_copy(update=fields)


def _needs_attention(store: JobStore, job: Job, attempt: int) -> Job | None:
    reason = (
        f"attempt {attempt} after a crash: script {job.script!r} is not idempotent, so it "
        "is not run again blindly; check what the first attempt did, then resubmit"
    )
    log.warning("job %s: %s", job.id, reason)
    store.update(job.id, status=JobStatus.NEEDS_ATTENTION, reason=reason, finished_at=time.time())
    store.release_slot(job)
    telemetry.finish_job(ok=False)
    return store.get(job.id)


def record_killed(store: JobStore, job_id: str, reason: str) -> Job | None:
    """Record a job the worker killed (hard time limit) unless it already has an outcome."""
    job = store.get(job_id)
    if job is None or job.status in FINISHED:
        return None
    fields: dict[str, Any] = {"status": JobStatus.FAILED, "error": reason, "finished_at": time.time()}
    store.finish(job, "failed", resets_breaker=False, **fields)
    return job.model_copy(update=fields)
