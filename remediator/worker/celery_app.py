"""The Celery application every process shares (`celery -A remediator.celery_app`)."""

from __future__ import annotations

from typing import Any

from celery import Celery, signals

from remediator import defaults
from remediator.worker import sentinel

sentinel.register()


def create_celery(broker_url: str | None = None, sentinel_master: str | None = None) -> Celery:
    """A Celery app configured from celeryconfig; broker_url overrides the broker and backend
    (and sentinel_master the Sentinel group, for a `sentinel://` URL)."""
    app = Celery("remediator", include=["remediator.tasks"])
    app.config_from_object("remediator.worker.celeryconfig")
    if broker_url is not None:
        app.conf.broker_url = broker_url
        app.conf.result_backend = broker_url
    if sentinel_master is not None and str(app.conf.broker_url).startswith("sentinel://"):
        app.conf.broker_transport_options = {
            **app.conf.broker_transport_options,
            "master_name": sentinel_master,
        }
        app.conf.result_backend_transport_options = {
            **app.conf.result_backend_transport_options,
            "master_name": sentinel_master,
        }
    return app


@signals.celeryd_init.connect
def _worker_telemetry(**_: Any) -> None:
    from remediator.sentry.telemetry import init_sentry
    from remediator.settings import get_settings

    init_sentry(get_settings(), "worker")


@signals.task_failure.connect
def _task_error(sender: Any = None, exception: BaseException | None = None, **_: Any) -> None:
    # Without sentry-sdk's Celery integration (see telemetry.init_sentry), a task's
    # unexpected error reaches Sentry from here; a job's failure is the listener's.
    from remediator.sentry.telemetry import capture_task_error

    if exception is not None:
        expected = isinstance(exception, tuple(getattr(sender, "throws", ()) or ()))
        capture_task_error(getattr(sender, "name", "?"), exception, expected)


@signals.before_task_publish.connect
def _trace_out(sender: str | None = None, headers: dict[str, Any] | None = None, **_: Any) -> None:
    # A job continues the trace of the request that submitted it (when that was traced).
    if sender == defaults.RUN_JOB_TASK and headers is not None:
        from remediator.sentry.telemetry import outgoing_trace_headers

        headers.update(outgoing_trace_headers())


@signals.task_prerun.connect
def _trace_in(sender: Any = None, task: Any = None, **_: Any) -> None:
    if getattr(sender, "name", None) == defaults.RUN_JOB_TASK and task is not None:
        from remediator.sentry.telemetry import incoming_trace_headers

        request = task.request
        incoming_trace_headers(
            {k: v for k in ("sentry-trace", "baggage") if isinstance(v := getattr(request, k, None), str)}
        )


@signals.beat_init.connect
def _beat_telemetry(**_: Any) -> None:
    from remediator.sentry.telemetry import init_sentry
    from remediator.settings import get_settings

    init_sentry(get_settings(), "beat")


def _tiers_of(consumer: Any) -> list[str]:
    queues = consumer.app.amqp.queues.consume_from or {}
    prefix = defaults.QUEUE_PREFIX
    return [name.removeprefix(prefix) for name in queues if name.startswith(prefix)]


def _readiness_client() -> Any:
    from remediator.jobs import redis_client
    from remediator.settings import get_settings

    return redis_client(get_settings().effective_broker_url())


@signals.worker_ready.connect
def _ready(sender: Any = None, **_: Any) -> None:
    # From now on jobs on these tiers can run: /healthz and /readyz say so.
    from remediator.worker.health import consuming

    client = _readiness_client()
    for tier in _tiers_of(sender):
        consuming(client, tier, sender.hostname)


@signals.worker_shutdown.connect
def _shutdown(sender: Any = None, **_: Any) -> None:
    from remediator.worker.health import stopped_consuming

    try:
        client = _readiness_client()
        for tier in _tiers_of(sender.consumer if hasattr(sender, "consumer") else sender):
            stopped_consuming(client, tier, sender.hostname)
    except Exception:  # the broker may be gone already; the entry then ages out
        return


celery_app = create_celery()
