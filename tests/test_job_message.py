"""A job's message goes on the broker in the gate's own Redis transaction, and stays Celery:
byte for byte what `send_task` writes (but its delivery tag), on the list kombu's Redis
transport reads for that queue and priority, decoded by kombu and run by a real worker, on
a broker URL with a database number and through Sentinel; Redis killed where the publish
used to follow the record leaves both or neither, never an orphan record."""

from __future__ import annotations

import base64
import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest
import redis
from kombu.serialization import loads

from remediator.defaults import CLASS_TO_REDIS_PRIORITY, RUN_JOB_TASK
from remediator.dispatch import Dispatcher
from remediator.dispatch.job_message import JobMessages
from remediator.errors import BrokerUnavailable
from remediator.jobs import JobStatus, JobStore, redis_client
from remediator.jobs.gate import Gate
from remediator.jobs.keys import job_key
from remediator.jobs.queues import message_task_ids
from remediator.lifecycle import Lifecycle
from remediator.listeners import build_bus
from remediator.local.embedded_redis import EmbeddedRedis
from remediator.settings import get_settings
from remediator.testing.factories import make_dispatcher, make_spec, make_subject
from remediator.worker.celery_app import create_celery
from tests.helpers import clean, queued_messages, running_worker, wait_for
from tests.redis_ha import MASTER_NAME, SentinelGroup

OPTIONS = {"queue": "remediator.prod", "priority": 3, "time_limit": 60, "soft_time_limit": 55.0}


def lists_of(client: Any, queue: str) -> dict[bytes, list[bytes]]:
    return {k: client.lrange(k, 0, -1) for k in client.scan_iter(f"{queue}*") if client.type(k) == b"list"}


def test_the_message_is_what_send_task_writes_on_the_same_list(private_broker_url: str) -> None:
    celery = create_celery(private_broker_url)
    client = redis.Redis.from_url(private_broker_url)
    built = JobMessages(celery).build(RUN_JOB_TASK, ["job-1"], "job-1", **OPTIONS)
    assert client.dbsize() == 0 or not lists_of(client, "remediator.prod")  # built, not sent

    events = client.pubsub()
    events.psubscribe("*celeryev*")
    wait_for(lambda: events.get_message(timeout=0.1), 5, 0, "the subscription")
    celery.send_task(RUN_JOB_TASK, args=["job-1"], task_id="job-1", ignore_result=True, **OPTIONS)
    ((key, (sent,)),) = lists_of(client, "remediator.prod").items()
    announced = wait_for(lambda: events.get_message(timeout=0.5), 5, 0, "the task-sent event")
    events.close()

    pushes = [(k, v) for c, k, v in built if c == "lpush"]
    ((our_key, ours),) = pushes
    assert our_key.encode() == key  # the list kombu's transport keeps for this queue and priority
    mine, theirs = (json.loads(m) for m in (ours, sent))
    for message in (mine, theirs):
        message["properties"].pop("delivery_tag")
    assert mine == theirs
    (published,) = [(k, v) for c, k, v in built if c == "publish"]
    assert published[0].encode() == announced["channel"]  # the task-sent event, on Celery's topic


def test_a_worker_runs_the_job_whose_message_went_in_the_transaction(
    private_broker_url: str, log_dir: Path
) -> None:
    assert private_broker_url.endswith("/3")  # a database other than 0: kombu's virtual host
    dispatcher = make_dispatcher(private_broker_url)
    assert dispatcher.in_transaction
    sent: list[Any] = []
    send_task = dispatcher.celery.send_task

    def recorded(*args: Any, **kwargs: Any) -> Any:
        sent.append((args, kwargs))
        return send_task(*args, **kwargs)

    dispatcher.celery.send_task = recorded  # type: ignore[method-assign]
    job = dispatcher.submit(make_spec(rule="one-step", script="noop", tier="prod"), make_subject())
    assert job.status is JobStatus.QUEUED
    # Celery built the message on the collecting producer; nothing was published after the record.
    assert [kwargs.get("producer") is not None for args, kwargs in sent if args[0] == RUN_JOB_TASK] == [True]

    step = str(CLASS_TO_REDIS_PRIORITY[job.priority_class])
    (message,) = queued_messages(dispatcher.store.client, "remediator.prod")[step]
    body = loads(base64.b64decode(message["body"]), message["content-type"], message["content-encoding"])
    assert body[0] == [job.id] and message["headers"]["task"] == RUN_JOB_TASK
    assert job.time_limit is not None
    assert message["headers"]["timelimit"] == [job.time_limit, pytest.approx(job.time_limit - 1)]

    with running_worker("prod", log_dir, env={"REMEDIATOR_BROKER_URL": private_broker_url}, name="one-step"):
        wait_for(lambda: dispatcher.store.get(job.id).status is JobStatus.SUCCEEDED, 30, 0.1, "the job")


def test_through_sentinel_the_message_goes_in_the_transaction_and_runs(
    broker_url: str, tmp_path: Path, log_dir: Path
) -> None:
    # broker_url: the session's settings, which Celery's configuration module reads.
    group = SentinelGroup(tmp_path / "redis").start()
    try:
        celery = create_celery(group.url, MASTER_NAME)
        store = JobStore(redis_client(group.url, master_name=MASTER_NAME), 1)
        dispatcher = Dispatcher(celery, Lifecycle(store, build_bus(get_settings(), store, celery)))
        assert dispatcher.in_transaction
        job = dispatcher.submit(make_spec(rule="sentinel", script="noop", tier="nonprod"), make_subject())
        assert job.status is JobStatus.QUEUED
        assert job.id in message_task_ids(group.client(), ("nonprod",))
        env = {"REMEDIATOR_BROKER_URL": group.url, "REMEDIATOR_SENTINEL_MASTER": MASTER_NAME}
        with running_worker("nonprod", log_dir, env=env, name="sentinel-one-step"):
            wait_for(lambda: store.get(job.id).status is JobStatus.SUCCEEDED, 30, 0.1, "the job")
    finally:
        group.stop()


def test_redis_killed_where_the_publish_used_to_be_leaves_no_orphan(
    broker_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = EmbeddedRedis(tmp_path / "redis", fsync="always").start()
    url = server.url
    try:
        dispatcher = make_dispatcher(url)
        assert dispatcher.in_transaction
        decide = Gate.decide

        def decide_then_die(self: Gate, *args: Any, **kwargs: Any) -> Any:
            verdict = decide(self, *args, **kwargs)
            assert server.process is not None
            os.kill(server.process.pid, signal.SIGKILL)  # the moment `send_task` used to follow
            server.process.wait()
            return verdict

        monkeypatch.setattr(Gate, "decide", decide_then_die)
        spec = make_spec(rule="killed", script="noop", tier="prod")
        try:
            # Accepted: the transaction committed; what follows it (the remote listeners)
            # finds Redis gone and says so in the log.
            accepted = dispatcher.submit(spec, make_subject()).status is JobStatus.QUEUED
        except BrokerUnavailable:
            accepted = False  # refused: the webhook is spooled and comes back
        monkeypatch.undo()
    finally:
        server.stop()
    restarted = EmbeddedRedis(tmp_path / "redis", port=server.port, fsync="always").start()
    try:
        client = redis.Redis.from_url(url, decode_responses=True)
        records = [k.rsplit(":", 1)[-1] for k in client.scan_iter(job_key("*")) if client.type(k) == "hash"]
        messages = message_task_ids(client, ("prod",))
        assert set(records) == messages  # both or neither: no record without its message
        assert accepted and len(records) == 1  # the append-only file kept the committed transaction
        clean(client)
    finally:
        restarted.stop()
