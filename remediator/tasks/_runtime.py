"""What a worker process builds once: its job store, its lifecycle (with every listener)."""

from __future__ import annotations

from functools import lru_cache

from celery import current_app

from remediator.jobs import Job, JobStore, redis_client
from remediator.lifecycle import Lifecycle
from remediator.listeners import build_lifecycle
from remediator.rules import RuleSet
from remediator.scripts import ScriptContext
from remediator.sentry.api import api_for
from remediator.settings import get_settings
from remediator.wiring import configured_rules


@lru_cache(maxsize=1)
def worker_store() -> JobStore:
    """The job store on the configured broker's Redis."""
    settings = get_settings()
    return JobStore(redis_client(settings.effective_broker_url()), settings.job_retention_days)


@lru_cache(maxsize=1)
def worker_rules() -> RuleSet:
    """The rule file, as this worker loaded it (the notify section's channels and routes)."""
    return configured_rules(get_settings())


@lru_cache(maxsize=1)
def worker_lifecycle() -> Lifecycle:
    """The lifecycle of this worker process; remote listeners' events go out on its app."""
    app = current_app._get_current_object()
    return build_lifecycle(get_settings(), worker_store(), app, worker_rules())


def script_context(job: Job) -> ScriptContext:
    """The context a job's script runs with in this worker."""
    settings = get_settings()
    return ScriptContext(
        job=job,
        settings=settings,
        sentry=api_for(settings),
        rules=worker_rules(),
        redis=worker_store().client,
    )
