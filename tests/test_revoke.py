"""A job revoked through Celery (Flower, `celery control revoke`) is cancelled, never left
queued or running with its slot held. Real worker processes, real revokes."""

from __future__ import annotations

from pathlib import Path

import pytest

from remediator.jobs import JobStatus
from remediator.testing.factories import make_dispatcher, make_spec, make_subject
from remediator.worker.celery_app import create_celery
from tests.helpers import running_worker, wait_for

pytestmark = pytest.mark.slow


def test_a_queued_job_revoked_in_flower_is_cancelled_and_frees_its_key(
    private_broker_url, log_dir: Path
) -> None:
    dispatcher = make_dispatcher(private_broker_url)
    store = dispatcher.store
    env = {"REMEDIATOR_BROKER_URL": private_broker_url}
    # Given a worker busy with a slow job, and a job of another rule waiting behind it
    slow = dispatcher.submit(
        make_spec(rule="slow", script="run-command", tier="prod", params={"argv": ["sleep", "3"]}),
        make_subject(),
    )
    waiting_spec = make_spec(rule="waiting", tier="prod", key="the-key")
    waiting = dispatcher.submit(waiting_spec, make_subject())
    with running_worker("prod", log_dir, env=env, concurrency=1, name="revoker"):
        wait_for(
            lambda: (j := store.get(slow.id)) and j.status == JobStatus.RUNNING, 20, 0.05, "the slow job"
        )
        # When an operator revokes the waiting job (as Flower does: a broadcast to workers)
        create_celery(private_broker_url).control.revoke(waiting.id)
        # Then, once the worker reaches its message, the job is cancelled, saying why
        job = wait_for(
            lambda: (j := store.get(waiting.id)) and j.status == JobStatus.CANCELLED and j,
            30,
            0.1,
            "cancelled",
        )
    assert job.attempts == 0
    assert job.error == "revoked through Celery (Flower or `celery control revoke`), before it started"
    # And its key is free: the next match for it is queued, not coalesced onto a dead job
    again = dispatcher.submit(waiting_spec, make_subject())
    assert again.status == JobStatus.QUEUED


def test_a_running_job_revoked_with_terminate_is_cancelled_not_left_running(
    private_broker_url, log_dir: Path
) -> None:
    dispatcher = make_dispatcher(private_broker_url)
    store = dispatcher.store
    env = {"REMEDIATOR_BROKER_URL": private_broker_url}
    job = dispatcher.submit(
        make_spec(rule="long", script="run-command", tier="prod", params={"argv": ["sleep", "30"]}),
        make_subject(),
    )
    with running_worker("prod", log_dir, env=env, concurrency=1, name="terminator"):
        wait_for(
            lambda: (j := store.get(job.id)) and j.status == JobStatus.RUNNING, 20, 0.05, "the job to start"
        )
        create_celery(private_broker_url).control.revoke(job.id, terminate=True)
        done = wait_for(
            lambda: (j := store.get(job.id)) and j.status == JobStatus.CANCELLED and j, 20, 0.1, "cancelled"
        )
    assert done.attempts == 1
    assert done.error is not None and "terminated while running" in done.error
