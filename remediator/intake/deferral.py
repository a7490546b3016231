"""Handing a webhook's planning to a worker: when the lookups its rules need went
unanswered within the web's budget, the verified body goes out as one `remediator.plan`
message (the first tier's queue, top priority) and the web answers 202 "deferred". The
worker plans it through the same `Intake.process`, with a patient Sentry client. Redis
down: BrokerUnavailable, and the web spools it as any other webhook."""

from __future__ import annotations

import logging

import redis
from celery import Celery
from kombu.exceptions import OperationalError

from remediator import defaults
from remediator.errors import BrokerUnavailable

log = logging.getLogger(__name__)


class Deferral:
    """The web's `Intake.defer`: send the body to a worker to plan."""

    def __init__(self, celery: Celery, queue: str) -> None:
        self.celery = celery
        self.queue = queue

    def __call__(self, resource: str, body: bytes, unanswered: list[str]) -> bool:
        try:
            self.celery.send_task(
                defaults.PLAN_TASK,
                args=[resource, body.decode("utf-8", "replace")],
                queue=self.queue,
                priority=0,
                ignore_result=True,
            )
        except (redis.RedisError, OperationalError, OSError) as exc:
            raise BrokerUnavailable(f"broker unavailable: {exc}") from exc
        return True
