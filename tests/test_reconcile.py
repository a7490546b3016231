"""Reconciliation: a job recorded `queued` whose message never reached the broker (Redis
failed between an approval's record and its publish) is queued again when its script is idempotent
and runs, or needs attention when it is not; a job whose message waits on a list or sits in
a worker's hands is left alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import redis

from remediator.errors import BrokerUnavailable
from remediator.jobs import JobStatus
from remediator.testing.factories import make_dispatcher, make_spec, make_subject
from tests.helpers import queued, running_worker, wait_for

TIERS = ("prod", "nonprod")


def waiting_ids(client: Any) -> set[str]:
    return {task_id for ids in queued(client, "remediator.prod").values() for task_id in ids}


def submit_losing_the_message(dispatcher: Any, **spec: Any) -> str:
    """Approve a job while Redis fails right after its record turns queued, before its message
    is sent: the hole a submission's transaction closes, left open for an approval (and for a
    failover that loses unreplicated writes)."""
    waiting = dispatcher.submit(make_spec(approval=True, **spec), make_subject())
    assert waiting.status is JobStatus.AWAITING_APPROVAL
    publish = dispatcher.celery.send_task

    def fail(*args: Any, **kwargs: Any) -> None:
        raise redis.ConnectionError("injected: Redis went away between the record and the publish")

    dispatcher.celery.send_task = fail
    try:
        with pytest.raises(BrokerUnavailable):
            dispatcher.approve(waiting.id, by="tester")
    finally:
        dispatcher.celery.send_task = publish
    job = dispatcher.store.get(waiting.id)
    assert job.status is JobStatus.QUEUED
    return str(job.id)


def test_a_lost_idempotent_job_is_queued_again_and_runs(private_broker_url: str, log_dir: Path) -> None:
    dispatcher = make_dispatcher(private_broker_url)
    client = dispatcher.store.client
    job_id = submit_losing_the_message(dispatcher, rule="lost", script="noop", tier="prod")
    assert job_id not in waiting_ids(client)
    assert dispatcher.reconcile(TIERS, older_than=3600) == {
        "requeued": [],
        "needs_attention": [],
    }  # too young
    client.delete("remediator:reconcile-lock")
    assert dispatcher.reconcile(TIERS, older_than=0) == {"requeued": [job_id], "needs_attention": []}
    assert job_id in waiting_ids(client)
    note = dispatcher.store.get(job_id).notes[-1]
    assert note["kind"] == "reconcile" and "queued again" in str(note["detail"])
    with running_worker(
        "prod", log_dir, env={"REMEDIATOR_BROKER_URL": private_broker_url}, name="reconciled"
    ):
        job = wait_for(
            lambda: (j := dispatcher.store.get(job_id)) and j.status is JobStatus.SUCCEEDED and j,
            30,
            0.1,
            "run",
        )
    assert job.attempts == 1


def test_a_lost_job_that_is_not_idempotent_needs_attention(private_broker_url: str) -> None:
    dispatcher = make_dispatcher(private_broker_url)
    job_id = submit_losing_the_message(
        dispatcher,
        rule="lost-http",
        script="http-request",
        tier="prod",
        params={"url": "http://127.0.0.1:9/x"},
    )
    assert dispatcher.reconcile(TIERS, older_than=0) == {"requeued": [], "needs_attention": [job_id]}
    job = dispatcher.store.get(job_id)
    assert job.status is JobStatus.NEEDS_ATTENTION and "is not idempotent" in str(job.reason)
    assert job_id not in waiting_ids(dispatcher.store.client)


def test_jobs_whose_message_waits_or_is_held_by_a_worker_are_left_alone(private_broker_url: str) -> None:
    dispatcher = make_dispatcher(private_broker_url)
    client = dispatcher.store.client
    waiting = dispatcher.submit(make_spec(rule="waiting", tier="prod"), make_subject())
    held = dispatcher.submit(make_spec(rule="held", tier="nonprod"), make_subject())
    # A worker took `held`'s message: kombu moves it from the list to its `unacked` hash.
    (raw,) = client.lrange("remediator.nonprod\x06\x166", 0, -1)
    client.delete("remediator.nonprod\x06\x166")
    client.hset("unacked", "delivery-tag-1", json.dumps([json.loads(raw), "", "remediator.nonprod"]))
    assert dispatcher.reconcile(TIERS, older_than=0) == {"requeued": [], "needs_attention": []}
    assert dispatcher.store.get(waiting.id).status is JobStatus.QUEUED
    assert dispatcher.store.get(held.id).status is JobStatus.QUEUED
