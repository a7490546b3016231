"""The Celery application every process shares (`celery -A remediator.celery_app`)."""

from __future__ import annotations

from typing import Any

from celery import Celery, signals


def create_celery(broker_url: str | None = None) -> Celery:
    """A Celery app configured from celeryconfig; broker_url overrides the broker and backend."""
    app = Celery("remediator", include=["remediator.tasks"])
    app.config_from_object("remediator.worker.celeryconfig")
    if broker_url is not None:
        app.conf.broker_url = broker_url
        app.conf.result_backend = broker_url
    return app


@signals.celeryd_init.connect
def _worker_telemetry(**_: Any) -> None:
    from remediator.sentry.telemetry import init_sentry
    from remediator.settings import get_settings

    init_sentry(get_settings(), "worker")


@signals.beat_init.connect
def _beat_telemetry(**_: Any) -> None:
    from remediator.sentry.telemetry import init_sentry
    from remediator.settings import get_settings

    init_sentry(get_settings(), "beat")


celery_app = create_celery()
