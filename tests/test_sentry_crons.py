"""Worker health through Sentry cron check-ins, sent by each tier's own worker."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import redis

from remediator.defaults import HEARTBEAT_TASK, MONITOR_CONFIG, queue_for
from remediator.testing.factories import make_dispatcher, make_spec, make_subject
from remediator.worker.celery_app import create_celery
from tests.helpers import clean, queued_tasks, running_worker, wait_for, wait_for_items


def beat_sends_heartbeats(broker: str | None = None) -> None:
    """What beat's schedule does each minute: one heartbeat per tier, on the tier's queue."""
    from remediator.worker import celeryconfig

    app = create_celery(broker)
    for entry in celeryconfig.beat_schedule.values():
        if entry["task"] != HEARTBEAT_TASK:
            continue
        app.send_task(entry["task"], args=entry["args"], **entry["options"])


def test_beat_schedules_one_heartbeat_per_tier_on_that_tiers_queue() -> None:
    from remediator.worker import celeryconfig

    assert {
        k: (v["task"], v["args"], v["options"]["queue"], v["schedule"])
        for k, v in celeryconfig.beat_schedule.items()
        if v["task"] == HEARTBEAT_TASK
    } == {
        "heartbeat-prod": (HEARTBEAT_TASK, ("prod",), "remediator.prod", 60.0),
        "heartbeat-nonprod": (HEARTBEAT_TASK, ("nonprod",), "remediator.nonprod", 60.0),
    }


def test_each_tiers_worker_checks_in_with_the_monitor_config(workers, standin, redis_db) -> None:
    beat_sends_heartbeats()
    for tier in ("prod", "nonprod"):
        slug = f"batch-worker-{tier}"
        check_ins = wait_for_items(partial(standin.check_ins, slug), 2, what=f"{slug} check-ins")
        assert [c["status"] for c in check_ins] == ["in_progress", "ok"]
        assert check_ins[0]["check_in_id"] == check_ins[1]["check_in_id"]
        assert check_ins[0]["monitor_config"] == {**MONITOR_CONFIG, "timezone": "UTC"}
        assert check_ins[1]["duration"] is not None
        assert check_ins[1]["environment"] == "test"
        assert check_ins[0]["contexts"]["trace"]["trace_id"]
    assert MONITOR_CONFIG["schedule"] == {"type": "interval", "value": 1, "unit": "minute"}
    assert (
        MONITOR_CONFIG["checkin_margin"],
        MONITOR_CONFIG["max_runtime"],
        MONITOR_CONFIG["failure_issue_threshold"],
    ) == (2, 5, 3)


def test_a_tier_whose_worker_is_down_sends_no_check_in(standin, broker_url, log_dir: Path):
    other = broker_url.rsplit("/", 1)[0] + "/3"
    client = redis.Redis.from_url(other, decode_responses=True)
    clean(client)
    with running_worker("prod", log_dir, env={"REMEDIATOR_BROKER_URL": other}, name="alone"):
        beat_sends_heartbeats(other)
        wait_for(lambda: len(standin.check_ins("batch-worker-prod")) >= 2, 20, 0.1, "the prod check-ins")
    # The nonprod heartbeat was sent like prod's, and nobody took it: no check-in can exist.
    assert queued_tasks(client, "remediator.nonprod") == [(HEARTBEAT_TASK, "('nonprod',)")]
    assert standin.check_ins("batch-worker-nonprod") == []


def test_a_tier_with_too_deep_a_queue_checks_in_error(standin, broker_url, log_dir: Path):
    other = broker_url.rsplit("/", 1)[0] + "/3"
    import redis

    clean(redis.Redis.from_url(other))
    dispatcher = make_dispatcher(other)
    for _ in range(8):
        slow = make_spec(rule="slow", script="run-command", tier="prod", params={"argv": ["sleep", "0.2"]})
        dispatcher.submit(slow, make_subject())
    create_celery(other).send_task(HEARTBEAT_TASK, args=["prod"], queue=queue_for("prod"), priority=0)
    env = {"REMEDIATOR_BROKER_URL": other, "REMEDIATOR_MAX_QUEUE_DEPTH": "3"}
    with running_worker("prod", log_dir, env=env, concurrency=1, name="deep"):
        check_ins = wait_for(
            lambda: (lambda c: c if len(c) >= 2 else None)(standin.check_ins("batch-worker-prod")),
            20,
            0.1,
            "the prod check-ins",
        )
    assert [c["status"] for c in check_ins[:2]] == ["in_progress", "error"]
    clean(redis.Redis.from_url(other))
