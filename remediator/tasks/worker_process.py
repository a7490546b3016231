"""What a worker process builds once: its job store, its lifecycle (with every listener)."""

from __future__ import annotations

import contextlib
import os
import signal
from functools import lru_cache
from typing import Any

from celery import current_app, signals

from remediator.jobs import Job, JobStore, redis_client
from remediator.lifecycle import Lifecycle
from remediator.listeners import build_lifecycle
from remediator.live_rules import LiveRules
from remediator.rules import RuleSet
from remediator.scripts import ScriptContext
from remediator.sentry.api import api_for
from remediator.settings import get_settings


@lru_cache(maxsize=1)
def worker_store() -> JobStore:
    """The job store on the configured broker's Redis."""
    settings = get_settings()
    return JobStore(redis_client(settings.effective_broker_url()), settings.job_retention_days)


@lru_cache(maxsize=1)
def worker_live_rules() -> LiveRules:
    """The rules this worker runs (loaded when the worker starts; pool processes forked
    later inherit them, then each follows the file on its own)."""
    return LiveRules(get_settings())


def worker_rules() -> RuleSet:
    """The rules as they are now (the notify section, the repositories)."""
    return worker_live_rules().current


@signals.worker_init.connect
def _load_rules(**_: Any) -> None:
    # An invalid rule file stops the worker at start, naming the rule and field.
    worker_live_rules()


@signals.worker_process_init.connect
def _reload_on_hup_in_pool_process(**_: Any) -> None:
    signal.signal(signal.SIGHUP, worker_live_rules().request_reload)


@signals.worker_ready.connect
def _reload_on_hup(sender: Any = None, **_: Any) -> None:
    """SIGHUP to the worker reloads the rules, here and in its pool processes (instead of
    Celery's default: re-executing the whole worker)."""
    pool = getattr(getattr(sender, "controller", None), "pool", None)

    def reload(*_: Any) -> None:
        worker_live_rules().request_reload()
        worker_live_rules().check()
        for pid in _pool_pids(pool):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGHUP)

    with contextlib.suppress(ValueError):  # not the main thread: keep Celery's handler
        signal.signal(signal.SIGHUP, reload)


def _pool_pids(pool: Any) -> list[int]:
    try:
        return [int(p) for p in pool.info.get("processes") or ()]
    except Exception:  # a pool without processes (solo, threads)
        return []


@lru_cache(maxsize=1)
def worker_lifecycle() -> Lifecycle:
    """The lifecycle of this worker process; remote listeners' events go out on its app."""
    app = current_app._get_current_object()
    return build_lifecycle(get_settings(), worker_store(), app, worker_live_rules())


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
