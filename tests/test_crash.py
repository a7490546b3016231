"""A worker killed mid-job loses nothing: the job runs again (or, if its script is not
idempotent, waits for a person as needs_attention). Real worker processes, real SIGKILL."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import psutil
import pytest

from remediator.jobs import Job, JobStatus, JobStore
from remediator.testing.factories import make_dispatcher, make_spec, make_subject
from tests.helpers import WorkerProcess, running_worker, wait_for

pytestmark = pytest.mark.slow


def submit(broker: str, script: str, params: dict) -> tuple[JobStore, Job]:  # type: ignore[type-arg]
    dispatcher = make_dispatcher(broker)
    spec = make_spec(rule="crash", script=script, tier="prod", priority_class="B", params=params, key="k")
    return dispatcher.store, dispatcher.submit(spec, make_subject(issue_id="1"))


def kill_pool_child_once_running(worker: WorkerProcess, store: JobStore, job: Job) -> None:
    wait_for(lambda: (j := store.get(job.id)) and j.status == JobStatus.RUNNING, 20, 0.05, "the job to start")
    assert worker.process is not None
    [child] = psutil.Process(worker.process.pid).children()
    os.kill(child.pid, signal.SIGKILL)


def test_job_whose_pool_process_is_killed_runs_again_and_succeeds(private_broker_url, log_dir: Path):
    store, job = submit(private_broker_url, "restart-service", {"command": ["sleep", "2"]})
    env = {"REMEDIATOR_BROKER_URL": private_broker_url}
    with running_worker("prod", log_dir, env=env, concurrency=1, name="crash") as worker:
        kill_pool_child_once_running(worker, store, job)
        done = wait_for(
            lambda: (j := store.get(job.id)) and j.status in (JobStatus.SUCCEEDED, JobStatus.FAILED) and j,
            30,
            0.1,
            "the second attempt",
        )
    assert done.status == JobStatus.SUCCEEDED, done.error
    assert done.attempts == 2


def test_non_idempotent_job_killed_mid_run_is_not_rerun_blindly(private_broker_url, log_dir: Path):
    marker = log_dir / "runs.txt"
    marker.unlink(missing_ok=True)
    store, job = submit(
        private_broker_url, "run-command", {"argv": ["sh", "-c", f"echo run >> {marker}; sleep 2"]}
    )
    env = {"REMEDIATOR_BROKER_URL": private_broker_url}
    with running_worker("prod", log_dir, env=env, concurrency=1, name="crash2") as worker:
        kill_pool_child_once_running(worker, store, job)
        done = wait_for(
            lambda: (j := store.get(job.id)) and j.status == JobStatus.NEEDS_ATTENTION and j,
            30,
            0.1,
            "needs_attention",
        )
    assert done.attempts == 2
    assert "not idempotent" in (done.reason or "")
    assert marker.read_text() == "run\n"  # the command ran once, never twice


def test_job_whose_whole_worker_is_killed_runs_on_another_worker_after_the_visibility_timeout(
    private_broker_url, log_dir: Path
) -> None:
    dispatcher = make_dispatcher(private_broker_url)
    store = dispatcher.store
    spec = make_spec(
        rule="crash",
        script="restart-service",
        tier="prod",
        time_limit=4,
        priority_class="B",
        key="k",
        params={"command": ["sleep", "2"]},
    )
    job = dispatcher.submit(spec, make_subject(issue_id="2"))
    env = {
        "REMEDIATOR_BROKER_URL": private_broker_url,
        "REMEDIATOR_VISIBILITY_TIMEOUT": "6",
        "REMEDIATOR_ALLOW_SHORT_VISIBILITY_TIMEOUT": "1",  # a drill: the job's own limit is 4 s
    }
    first = WorkerProcess("prod", log_dir, env=env, concurrency=1, name="doomed").start()
    wait_for(lambda: (j := store.get(job.id)) and j.status == JobStatus.RUNNING, 20, 0.05, "the job to start")
    assert first.process is not None
    os.killpg(first.process.pid, signal.SIGKILL)  # the machine dies: main process and pool
    first.process.wait()
    with running_worker("prod", log_dir, env=env, concurrency=1, name="survivor"):
        done = wait_for(
            lambda: (j := store.get(job.id)) and j.status == JobStatus.SUCCEEDED and j,
            40,
            0.2,
            "another worker to run it after the visibility timeout",
        )
    assert done.attempts == 2
    assert done.worker is not None and done.worker.startswith("survivor@")


def test_sigterm_lets_the_running_job_finish_before_the_worker_exits(private_broker_url, log_dir: Path):
    store, job = submit(private_broker_url, "restart-service", {"command": ["sleep", "2"]})
    env = {"REMEDIATOR_BROKER_URL": private_broker_url}
    worker = WorkerProcess("prod", log_dir, env=env, concurrency=1, name="graceful").start()
    wait_for(lambda: (j := store.get(job.id)) and j.status == JobStatus.RUNNING, 20, 0.05, "the job to start")
    assert worker.process is not None
    worker.process.send_signal(signal.SIGTERM)  # warm shutdown
    assert worker.process.wait(30) == 0
    done = store.get(job.id)
    assert done is not None and done.status == JobStatus.SUCCEEDED and done.attempts == 1
