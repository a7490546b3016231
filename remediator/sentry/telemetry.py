"""remediator's own telemetry: sentry-sdk in every process, job transactions, no secrets."""

from __future__ import annotations

import logging
from typing import Any

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.flask import FlaskIntegration
from sentry_sdk.types import Event, Hint

from remediator import defaults
from remediator.errors import JobFailed
from remediator.jobs import Job
from remediator.redaction import register_secret, scrub
from remediator.settings import Settings

log = logging.getLogger(__name__)

SECRET_SETTINGS = (
    "sentry_client_secret",
    "api_token",
    "sentry_auth_token",
    "metrics_token",
    "github_token",
    "smtp_url",
    "llm_api_key",
)
"""Settings whose values never reach Sentry."""


def _before_send(event: Event, hint: Hint) -> Event | None:
    scrubbed: Event = scrub(event)
    return scrubbed


def sampler(settings: Settings) -> Any:
    """Trace every job (at the configured rate) and web requests at theirs; housekeeping
    tasks (heartbeats, write-backs, sweeps) are not traced: their check-ins and errors say
    enough, and a transaction each would cost more than it tells."""
    job_rate = settings.sentry_traces_sample_rate
    web_rate = settings.sentry_web_traces_sample_rate
    if web_rate is None:
        web_rate = job_rate

    def decide(context: dict[str, Any]) -> float:
        task = (context.get("celery_job") or {}).get("task")
        if task is None:
            return web_rate
        return job_rate if task == defaults.RUN_JOB_TASK else 0.0

    return decide


def init_sentry(settings: Settings, component: str) -> bool:
    """Start sentry-sdk for this process when SENTRY_DSN is set; returns whether it did."""
    for name in SECRET_SETTINGS:
        register_secret(getattr(settings, name))
    if not settings.sentry_dsn:
        return False
    sentry_sdk.init(
        dsn=settings.sentry_dsn,
        environment=settings.sentry_environment,
        release=settings.sentry_release,
        traces_sampler=sampler(settings),
        send_default_pii=False,
        integrations=[
            FlaskIntegration(),
            # Heartbeats send their own check-ins with the monitor config; beat's own
            # monitoring would name monitors after schedule keys instead.
            CeleryIntegration(propagate_traces=True, monitor_beat_tasks=False),
        ],
        before_send=_before_send,
        before_send_transaction=_before_send,
    )
    sentry_sdk.set_tag("component", component)
    log.info(
        "sentry-sdk initialised for %s (environment %s, release %s)",
        component,
        settings.sentry_environment,
        settings.sentry_release,
    )
    return True


def job_tags(job: Job) -> dict[str, str]:
    """The tags every job's transaction and error carry."""
    return {
        "tier": job.tier,
        "namespace": job.namespace,
        "class": job.priority_class.value,
        "job_id": job.id,
        "script": job.script,
        "rule": job.rule,
        "sentry_issue_id": job.sentry_issue_id or "",
    }


def job_context(job: Job) -> dict[str, Any]:
    """The `job` context of a job's events."""
    return {
        "id": job.id,
        "script": job.script,
        "class": job.priority_class.value,
        "tier": job.tier,
        "namespace": job.namespace,
        "rule": job.rule,
        "attempt": job.attempts,
    }


def start_job(job: Job) -> None:
    """Name the Celery task's transaction after the job and tag everything it sends."""
    scope = sentry_sdk.get_current_scope()
    for key, value in job_tags(job).items():
        scope.set_tag(key, value)
    scope.set_context("job", job_context(job))
    transaction = scope.transaction
    if transaction is not None:
        transaction.name = f"Batch Job: {job.script}"
        transaction.op = defaults.JOB_TRANSACTION_OP
        transaction.source = "custom"


def finish_job(ok: bool) -> None:
    """Set the job transaction's status: ok or internal_error."""
    transaction = sentry_sdk.get_current_scope().transaction
    if transaction is not None:
        transaction.set_status("ok" if ok else "internal_error")


def capture_failure(job: Job) -> None:
    """Send the job's failure as an error event carrying the job's tags and context."""
    sentry_sdk.capture_exception(
        JobFailed(job.error or job.reason or "failed"),
        tags=job_tags(job),
        contexts={"job": job_context(job)},
    )
