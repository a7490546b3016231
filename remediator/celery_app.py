"""The Celery application every process shares (`celery -A remediator.celery_app`)."""

from __future__ import annotations

from celery import Celery


def create_celery(broker_url: str | None = None) -> Celery:
    """A Celery app configured from celeryconfig; broker_url overrides the broker and backend."""
    app = Celery("remediator", include=["tasks"])
    app.config_from_object("celeryconfig")
    if broker_url is not None:
        app.conf.broker_url = broker_url
        app.conf.result_backend = broker_url
    return app


celery_app = create_celery()
