"""Running one job inside a worker: load the record, run the script, record the outcome."""

from __future__ import annotations

import logging
import time
from typing import Any

from billiard.exceptions import SoftTimeLimitExceeded
from pydantic import ValidationError

from remediator.errors import ScriptError
from remediator.jobs import FINISHED, JobStatus, JobStore
from remediator.scripts import ScriptContext, get_script

log = logging.getLogger(__name__)


class JobFailed(ScriptError):
    """Raised out of the Celery task after a failure is recorded, so Celery shows FAILURE."""


def run_job(store: JobStore, job_id: str, worker: str) -> dict[str, Any]:
    """Run the job's script and record how it ended; returns the job's output."""
    job = store.get(job_id)
    if job is None:
        log.error("job %s: no record (expired or never stored); nothing to run", job_id)
        return {"skipped": "no job record"}
    if job.status in FINISHED:
        log.warning("job %s: already %s; not running it again", job_id, job.status.value)
        return {"skipped": f"already {job.status.value}"}
    attempt = store.start_attempt(job_id, worker)
    log.info("job %s: %s attempt %d on %s", job_id, job.script, attempt, worker)
    ctx = ScriptContext(job_id=job_id, tier=job.tier, namespace=job.namespace)
    started = time.monotonic()
    try:
        script_cls = get_script(job.script)
        params = script_cls.Params.model_validate(job.params)
        output = script_cls().run(params, ctx)
    except ValidationError as exc:
        return _fail(store, job_id, ctx, started, f"invalid params for {job.script}: {exc}")
    except SoftTimeLimitExceeded:
        return _fail(
            store, job_id, ctx, started, f"stopped at the soft time limit (hard limit {job.time_limit}s)"
        )
    except (ScriptError, KeyError) as exc:
        return _fail(store, job_id, ctx, started, str(exc).strip("'\""))
    except Exception as exc:
        log.exception("job %s: script %s raised", job_id, job.script)
        return _fail(store, job_id, ctx, started, f"{type(exc).__name__}: {exc}")
    output = {**output, "steps": ctx.steps, "duration_s": round(time.monotonic() - started, 3)}
    store.update(job_id, status=JobStatus.SUCCEEDED, output=output, finished_at=time.time())
    return output


def _fail(store: JobStore, job_id: str, ctx: ScriptContext, started: float, error: str) -> dict[str, Any]:
    output = {"steps": ctx.steps, "duration_s": round(time.monotonic() - started, 3)}
    store.update(job_id, status=JobStatus.FAILED, error=error, output=output, finished_at=time.time())
    raise JobFailed(error)


def record_killed(store: JobStore, job_id: str, reason: str) -> None:
    """Record a job the worker killed (hard time limit) unless it already has an outcome."""
    job = store.get(job_id)
    if job is None or job.status in FINISHED:
        return
    store.update(job_id, status=JobStatus.FAILED, error=reason, finished_at=time.time())
