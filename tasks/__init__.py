"""Celery tasks: thin adapters from a message to remediator's own functions."""

from tasks.heartbeat import heartbeat
from tasks.maintenance import sweep
from tasks.remediation import run_job
from tasks.sentry import verify, writeback

__all__ = ["heartbeat", "run_job", "sweep", "verify", "writeback"]
