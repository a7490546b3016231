"""Running one job inside a worker: claim the record, run the script, record the outcome."""

from __future__ import annotations

import logging
import time

from billiard.exceptions import SoftTimeLimitExceeded
from pydantic import ValidationError

from remediator.errors import ScriptError
from remediator.jobs import FINISHED, Job, JobStatus, JobStore
from remediator.scripts import ScriptContext, get_script, secret_values
from remediator.sentry import telemetry

log = logging.getLogger(__name__)


class JobFailed(ScriptError):
    """Raised out of the Celery task after a failure is recorded, so Celery shows FAILURE."""


def run_job(store: JobStore, job_id: str, worker: str) -> Job | None:
    """Run the job's script and record how it ended; returns the finished job, or None if
    there was nothing to run (no record, cancelled, already finished)."""
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
    log.info("job %s: %s attempt %d on %s", job_id, job.script, attempt, worker)
    ctx = ScriptContext(job_id=job_id, tier=job.tier, namespace=job.namespace)
    started = time.monotonic()
    error: str | None = None
    try:
        script_cls = get_script(job.script)
        for value in secret_values(script_cls, job.params):
            telemetry.register_secret(value)
        params = script_cls.Params.model_validate(job.params)
        output = script_cls().run(params, ctx)
    except ValidationError as exc:
        error = f"invalid params for {job.script}: {exc}"
    except SoftTimeLimitExceeded:
        error = f"stopped at the soft time limit (hard limit {job.time_limit}s)"
    except (ScriptError, KeyError) as exc:
        error = str(exc).strip("'\"")
    except Exception as exc:
        log.exception("job %s: script %s raised", job_id, job.script)
        error = f"{type(exc).__name__}: {exc}"
    base = {"steps": ctx.steps, "duration_s": round(time.monotonic() - started, 3)}
    fields = {
        "status": JobStatus.FAILED if error else JobStatus.SUCCEEDED,
        "output": base if error else {**output, **base},
        "error": error,
        "finished_at": time.time(),
    }
    store.update(job_id, **fields)
    store.count_outcome(job.rule, "failed" if error else "succeeded")
    telemetry.finish_job(ok=error is None)
    finished = store.get(job_id)
    assert finished is not None
    return finished


def record_killed(store: JobStore, job_id: str, reason: str) -> Job | None:
    """Record a job the worker killed (hard time limit) unless it already has an outcome."""
    job = store.get(job_id)
    if job is None or job.status in FINISHED:
        return None
    store.update(job_id, status=JobStatus.FAILED, error=reason, finished_at=time.time())
    store.count_outcome(job.rule, "failed")
    return store.get(job_id)
