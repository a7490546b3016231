"""remediator's own telemetry: sentry-sdk in every process, job transactions, no secrets."""

from __future__ import annotations

import logging
from typing import Any

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.flask import FlaskIntegration
from sentry_sdk.integrations.redis import RedisIntegration
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
    "remote_token",
    "oidc_client_secret",
)
"""Settings whose values never reach Sentry."""


def _before_send(event: Event, hint: Hint) -> Event | None:
    scrubbed: Event = scrub(event)
    return scrubbed


JOB_SAMPLING_KEY = "remediator_job"
"""Marks a job's transaction in its sampling context."""


def sampler(settings: Settings) -> Any:
    """Jobs at the job rate, web requests at the web rate. (Other Celery tasks start no
    transaction: only `start_job` does, and it says so in its sampling context.)"""
    job_rate = settings.sentry_traces_sample_rate
    web_rate = settings.sentry_web_traces_sample_rate

    def decide(context: dict[str, Any]) -> float:
        return job_rate if context.get(JOB_SAMPLING_KEY) else web_rate

    return decide


def init_sentry(settings: Settings, component: str) -> bool:
    """Start sentry-sdk for this process when SENTRY_DSN is set; returns whether it did.

    The web gets the Flask integration (errors of every request; requests traced at the web
    rate). Workers and beat get no Celery or Redis integration: a job's transaction is
    opened and closed by the `sentry-telemetry` listener (`start_job`, `end_job`), and
    other tasks' errors are sent from Celery's `task_failure` signal (`capture_task_error`).
    Profiled, the Celery integration's wrapping of every task, publish and task event cost
    half of a worker's throughput, and the Redis integration's span and breadcrumb for every
    store and broker command a third of the SDK's work per webhook, telling nothing the
    job's transaction, its record and its errors do not."""
    for name in SECRET_SETTINGS:
        register_secret(getattr(settings, name))
    if not settings.sentry_dsn:
        return False
    sentry_sdk.init(
        dsn=settings.sentry_dsn,
        environment=settings.sentry_environment,
        release=settings.sentry_release,
        traces_sampler=sampler(settings),
        # No personal data: sentry-sdk's default (send_default_pii is deprecated in 2.7x and
        # False unless set); _before_send scrubs registered secrets either way.
        integrations=[FlaskIntegration()] if component == "web" else [],
        disabled_integrations=[CeleryIntegration(), RedisIntegration()],
        # Transactions are small and many: gzip at level 1 keeps most of the saving at a
        # fraction of level 9's CPU.
        _experiments={"transport_compression_level": 1},
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


class _Open:
    """The job transaction this process has open: a worker process runs one job at a time."""

    scope: Any = None
    transaction: Any = None
    incoming: dict[str, str] | None = None
    """The trace headers of the message whose job is about to start."""


def outgoing_trace_headers() -> dict[str, str]:
    """The headers that let a job continue the trace of the request that submitted it:
    only while a traced (sampled) span is current, otherwise none (nothing to join)."""
    span = sentry_sdk.get_current_span()
    if span is None or not span.sampled:
        return {}
    headers = {"sentry-trace": sentry_sdk.get_traceparent() or ""}
    baggage = sentry_sdk.get_baggage()
    if baggage:
        headers["baggage"] = baggage
    return headers


def incoming_trace_headers(headers: dict[str, str]) -> None:
    """Keep the trace headers of the job about to start, for `start_job`."""
    _Open.incoming = headers or None


def start_job(job: Job) -> None:
    """Open the job's transaction, `Batch Job: <script>`, in a scope of its own that tags
    everything it sends."""
    if _Open.transaction is not None:
        end_job(ok=False)  # the last job never ended here (its end came from elsewhere)
    if not sentry_sdk.get_client().is_active():
        return
    scope_manager = sentry_sdk.isolation_scope()
    scope = scope_manager.__enter__()
    for key, value in job_tags(job).items():
        scope.set_tag(key, value)
    scope.set_context("job", job_context(job))
    incoming, _Open.incoming = _Open.incoming, None
    names: dict[str, Any] = {
        "name": f"Batch Job: {job.script}",
        "op": defaults.JOB_TRANSACTION_OP,
        "source": "custom",
    }
    sampling = {JOB_SAMPLING_KEY: True}
    if incoming:
        continued = sentry_sdk.continue_trace(incoming, **names)
        transaction = sentry_sdk.start_transaction(continued, custom_sampling_context=sampling)
    else:
        transaction = sentry_sdk.start_transaction(custom_sampling_context=sampling, **names)
    transaction.__enter__()
    _Open.scope, _Open.transaction = scope_manager, transaction


def end_job(ok: bool, failure: Job | None = None) -> None:
    """Close the job's transaction with status ok or internal_error; a failure is sent as
    an error event first, inside the job's trace."""
    transaction, scope_manager = _Open.transaction, _Open.scope
    _Open.transaction = _Open.scope = None
    if failure is not None:
        capture_failure(failure)
    if transaction is None:
        return
    transaction.set_status("ok" if ok else "internal_error")
    transaction.__exit__(None, None, None)
    scope_manager.__exit__(None, None, None)


def capture_failure(job: Job) -> None:
    """Send the job's failure as an error event carrying the job's tags and context."""
    sentry_sdk.capture_exception(
        JobFailed(job.error or job.reason or "failed"),
        tags=job_tags(job),
        contexts={"job": job_context(job)},
    )


def capture_task_error(task_name: str, exc: BaseException, expected: bool) -> None:
    """A Celery task other than a job's failed: send it, unless the task expects it."""
    if expected or not sentry_sdk.get_client().is_active():
        return
    with sentry_sdk.new_scope() as scope:
        scope.set_tag("celery_task", task_name)
        sentry_sdk.capture_exception(exc)
