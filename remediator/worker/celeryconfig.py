"""Celery configuration, read from remediator's one Settings object (see docs/architecture.md)."""

from __future__ import annotations

from typing import Any

from kombu.entity import Exchange, Queue

from remediator import defaults
from remediator.settings import get_settings
from remediator.worker.limits import visibility_timeout

_settings = get_settings()

broker_url = _settings.effective_broker_url()
result_backend = broker_url
result_expires = 86400
# Job records outlive results: see remediator.jobs.

task_serializer = "json"
result_serializer = "json"
accept_content = ["json"]
timezone = "UTC"
enable_utc = True

# Priority on Redis: one list per step, 0 served first. A message without a priority
# would land in the top list, so the default is the lowest class.
task_default_priority = defaults.DEFAULT_REDIS_PRIORITY
task_queue_max_priority = max(defaults.REDIS_PRIORITY_STEPS)
task_default_queue = f"{defaults.QUEUE_PREFIX}default"
# Every tier's queue is declared (not only created on first use), so tools that list queues
# from the app, Flower among them, see each tier's backlog even while its workers are down.
task_queues = [
    Queue(name, Exchange(name, type="direct"), routing_key=name)
    for name in (task_default_queue, *(defaults.queue_for(tier) for tier in _settings.tiers))
]
# Longer than the longest hard time limit, or a running job is handed out twice.
_visibility = visibility_timeout(_settings)
broker_transport_options: dict[str, Any] = {
    "priority_steps": defaults.REDIS_PRIORITY_STEPS,
    "sep": defaults.PRIORITY_SEP,
    "queue_order_strategy": "priority",
    "visibility_timeout": _visibility,
    # Sweep for the unacknowledged jobs of dead workers every interval (not interval x 10).
    "unacked_restore_interval": min(10, max(1, int(_visibility / 4))),
    "unacked_restore_throttle": 1,
}
result_backend_transport_options: dict[str, Any] = {"retry_policy": {"timeout": 5.0}}
if broker_url.startswith("sentinel://"):
    # kombu's Sentinel transport (and Celery's Sentinel result backend) ask the Sentinels
    # for the master of this group, and again after a failover.
    broker_transport_options["master_name"] = _settings.sentinel_master
    result_backend_transport_options["master_name"] = _settings.sentinel_master

# Reserve nothing ahead and acknowledge after the job ran: priority holds under
# backlog, and a job whose worker dies is delivered again.
task_acks_late = True
task_reject_on_worker_lost = True
worker_prefetch_multiplier = 1
worker_cancel_long_running_tasks_on_connection_loss = True
broker_connection_retry_on_startup = True
broker_connection_timeout = 2

# The web process publishes inside Sentry's 1-second budget: retry briefly, then fail.
task_publish_retry_policy = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.1,
    "interval_max": 0.2,
}

# Events for Flower and `celery inspect`.
worker_send_task_events = True
task_send_sent_event = True
task_track_started = True

beat_schedule: dict[str, dict[str, Any]] = (
    {
        f"heartbeat-{tier}": {
            "task": defaults.HEARTBEAT_TASK,
            "schedule": _settings.heartbeat_interval,
            "args": (tier,),
            # Routed to the tier's own queue, so the tier's own worker answers it.
            "options": {
                "queue": defaults.queue_for(tier),
                "priority": defaults.FOLLOWUP_PRIORITY,
                "expires": _settings.heartbeat_interval,
            },
        }
        for tier in _settings.tiers
    }
    | {
        f"sweep-{tier}": {
            "task": defaults.SWEEP_TASK,
            "schedule": _settings.heartbeat_interval,
            "options": {
                "queue": defaults.queue_for(tier),
                "priority": defaults.FOLLOWUP_PRIORITY,
                "expires": _settings.heartbeat_interval,
            },
        }
        for tier in _settings.tiers
    }
    | {
        name: {
            "task": task,
            "schedule": every,
            # Any tier's worker may do it: the first tier's queue, behind no job.
            "options": {
                "queue": defaults.queue_for(_settings.tiers[0]),
                "priority": defaults.FOLLOWUP_PRIORITY,
                "expires": every,
            },
        }
        for name, task, every in (
            ("learn-settle", defaults.LEARN_SETTLE_TASK, defaults.LEARN_SETTLE_INTERVAL_SECONDS),
            ("probe-targets", defaults.PROBE_TASK, defaults.PROBE_INTERVAL_SECONDS),
        )
    }
)
