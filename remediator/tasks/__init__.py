"""Celery tasks: thin adapters from a message to remediator's own functions."""

from remediator.tasks.delivery import notify, notify_digest
from remediator.tasks.events import deliver
from remediator.tasks.heartbeat import heartbeat
from remediator.tasks.maintenance import sweep
from remediator.tasks.planning import plan_webhook
from remediator.tasks.probes import probe_targets
from remediator.tasks.quiet_window import verify
from remediator.tasks.remediation import run_job
from remediator.tasks.settling import learn_settle, settle

__all__ = [
    "deliver",
    "heartbeat",
    "learn_settle",
    "notify",
    "notify_digest",
    "plan_webhook",
    "probe_targets",
    "run_job",
    "settle",
    "sweep",
    "verify",
]
