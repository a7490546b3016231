"""Factories for jobs, specs, subjects and dispatchers, so tests and the bench never
hand-build them (and follow the models when they change)."""

from __future__ import annotations

import itertools
from typing import Any

from remediator.defaults import PriorityClass, queue_for
from remediator.dispatch import Dispatcher
from remediator.jobs import Job, JobStore, redis_client
from remediator.lifecycle import Lifecycle, Listener
from remediator.listeners import build_bus
from remediator.payloads import Subject
from remediator.rules.engine import JobSpec
from remediator.scripts import ScriptContext
from remediator.settings import Settings, get_settings

_numbers = itertools.count(1)


def make_subject(**overrides: Any) -> Subject:
    """An `issue.created` subject with a fresh issue id unless given."""
    values: dict[str, Any] = {"resource": "issue", "action": "created", "issue_id": str(next(_numbers))}
    return Subject(**(values | overrides))


def make_spec(**overrides: Any) -> JobSpec:
    """A planned job: `noop` on nonprod, class C, its own storm key, unless given."""
    values: dict[str, Any] = {
        "rule": "test-rule",
        "script": "noop",
        "tier": "nonprod",
        "priority_class": PriorityClass.C,
        "namespace": "test",
        "key": f"key-{next(_numbers)}",
    }
    values |= overrides
    if isinstance(values["priority_class"], str):
        values["priority_class"] = PriorityClass(values["priority_class"])
    return JobSpec(**values)


def make_job(**overrides: Any) -> Job:
    """A job record (not stored): `noop` on nonprod, class C, queued, unless given."""
    values: dict[str, Any] = {
        "rule": "test-rule",
        "script": "noop",
        "tier": "nonprod",
        "priority_class": PriorityClass.C,
        "namespace": "test",
    }
    values |= overrides
    values.setdefault("queue", queue_for(values["tier"]))
    return Job(**values)


def make_lifecycle(
    broker_url: str,
    settings: Settings | None = None,
    celery: Any = None,
    listeners: list[Listener] | None = None,
) -> Lifecycle:
    """A lifecycle on this broker with the configured listeners (and extra ones)."""
    settings = settings or get_settings()
    store = JobStore(redis_client(broker_url), settings.job_retention_days)
    return Lifecycle(store, build_bus(settings, store, celery, extra=listeners or ()))


def make_dispatcher(broker_url: str, settings: Settings | None = None, **options: Any) -> Dispatcher:
    """A dispatcher on this broker (its own Celery app), as the web process builds one."""
    from remediator.worker.celery_app import create_celery

    celery = create_celery(broker_url)
    return Dispatcher(celery, make_lifecycle(broker_url, settings, celery), **options)


def make_context(**job_overrides: Any) -> ScriptContext:
    """The context a script runs with, for a job made by make_job (no Sentry client)."""
    return ScriptContext(job=make_job(**job_overrides), settings=get_settings())
