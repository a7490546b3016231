"""A job's Celery message, written in the same Redis transaction as the gate's decision and
the job's record: a job is either recorded and queued, or neither.

The message is built by Celery's own `send_task` (routing, `create_task_message`, the
`before_task_publish` and `after_task_publish` signals, kombu's serialisation, its
`task-sent` event) on a kombu Redis channel whose final writes are collected instead of
sent: kombu's `_put` and `_put_fanout` hand them to the `_publish_batch` hook kombu's own
publish batches use (`batch.add('lpush', list, payload)`, `batch.add('publish', topic,
payload)`), so the list name (the queue and its priority step) and the payload are
kombu's, not ours. The gate's script runs those commands only when the job may go ahead.

What this relies on in kombu's Redis transport, each proved by tests/test_job_message.py
against a real worker: that `send_task` to a tier queue (a direct exchange) publishes
through `Channel._put(queue, message)`; that `_put` and `_put_fanout` pass their final
commands to `_publish_batch.add` (kombu 5.7); that a `global_keyprefix` is added by the
client, not by `_put` (we add it ourselves). Any other broker, or a kombu without the hook,
gets plain `send_task` after the record's transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from celery import Celery
from kombu.connection import Connection
from kombu.transport import redis as kombu_redis

Command = tuple[str, str, str]
"""One final Redis write of a publish: (command, key or topic, payload)."""

ALLOWED = frozenset({"lpush", "publish", "pexpire"})
"""The commands kombu's Redis `_put` and `_put_fanout` end in; the gate's script runs these
and refuses any other."""


class _Collected(threading.local):
    commands: list[Command] | None = None
    producer: Any = None


class _Sink:
    """What kombu's `_put` sees as its publish batch: it only keeps the commands."""

    def __init__(self, commands: list[Command]) -> None:
        self.commands = commands

    def add(self, name: str, *args: Any) -> None:
        if name not in ALLOWED:
            raise RuntimeError(f"kombu asked for {name!r} in a publish: not a command the gate runs")
        key, value = (str(a) for a in args[:2])
        self.commands.append((name, key, value))


def _collecting(base: type[kombu_redis.Channel], collected: _Collected) -> type[kombu_redis.Channel]:
    """kombu's Redis channel (plain or Sentinel) whose publishes are collected, not sent."""

    class CollectingChannel(base):  # type: ignore[misc, valid-type]
        def _put(self, queue: str, message: Any, **kwargs: Any) -> None:
            commands = collected.commands
            if commands is None:
                raise RuntimeError("a job message was published outside JobMessages.build")
            super()._put(queue, message, _publish_batch=_Sink(commands), **kwargs)

        def _put_fanout(self, exchange: str, message: Any, routing_key: str, **kwargs: Any) -> None:
            commands = collected.commands
            if commands is None:
                raise RuntimeError("a job message was published outside JobMessages.build")
            super()._put_fanout(exchange, message, routing_key, _publish_batch=_Sink(commands), **kwargs)

    return CollectingChannel


class JobMessages:
    """Builds a job's message as `send_task` would publish it, as Redis commands to run in
    the gate's transaction. `available_for` says whether the broker allows it."""

    def __init__(self, celery: Celery) -> None:
        self.celery = celery
        self._collected = _Collected()
        self._lock = threading.Lock()
        self._connection: Connection | None = None
        self._prefix = ""

    def available_for(self, client: Any) -> bool:
        """Whether a job's message can go in a transaction of `client` (the job store's
        Redis): the broker is kombu's Redis transport with the publish-batch hook, on the
        same server and database as the store."""
        try:
            with self.celery.connection_for_write() as connection:
                transport = type(connection.transport)
                hostname, port, vhost = connection.hostname, connection.port, connection.virtual_host
        except (ImportError, KeyError):  # an unknown transport name: not ours to build for
            return False
        if not issubclass(transport, kombu_redis.Transport) or not hasattr(
            transport.Channel, "create_publish_batch"
        ):
            return False
        pool = client.connection_pool
        kwargs = pool.connection_kwargs
        db = int(str(vhost or "0").strip("/") or 0)
        if int(kwargs.get("db", 0)) != db:
            return False
        if issubclass(transport, kombu_redis.SentinelTransport):
            return hasattr(pool, "service_name")
        return not hasattr(pool, "service_name") and (kwargs.get("host"), int(kwargs.get("port", 6379))) == (
            hostname,
            int(port or 6379),
        )

    def _producer_connection(self) -> Connection:
        with self._lock:
            if self._connection is None:
                base = self.celery.connection_for_write()
                transport = type(base.transport)
                options = dict(base.transport_options)
                self._prefix = str(options.get("global_keyprefix") or "")
                collecting = type(
                    f"Collecting{transport.__name__}",
                    (transport,),
                    {"Channel": _collecting(transport.Channel, self._collected)},
                )
                self._connection = base.clone(transport=collecting)
                base.release()
            return self._connection

    def _producer(self) -> Any:
        """This thread's producer on the collecting connection (a producer is not shared
        between threads; under gevent, between greenlets)."""
        producer = getattr(self._collected, "producer", None)
        if producer is None:
            producer = self._collected.producer = self.celery.amqp.Producer(self._producer_connection())
        return producer

    @contextmanager
    def _collecting(self) -> Iterator[list[Command]]:
        commands: list[Command] = []
        self._collected.commands = commands
        try:
            yield commands
        finally:
            self._collected.commands = None

    def build(self, name: str, args: list[Any], task_id: str, **options: Any) -> list[Command]:
        """The Redis commands `send_task(name, args, task_id=..., **options)` would run."""
        producer = self._producer()
        with self._collecting() as commands:
            # The queue is declared by the worker that consumes it (kombu's Redis transport
            # keeps bindings, not queues), not on every publish; that does not change the
            # message (tests/test_job_message.py compares it with send_task's). The retry
            # policy stays: without it an unreachable broker takes the full connect timeout.
            self.celery.send_task(
                name, args=args, task_id=task_id, producer=producer, ignore_result=True, declare=[], **options
            )
        if not any(command == "lpush" for command, _, _ in commands):
            raise RuntimeError(f"send_task of {name} put nothing on a queue: not a Redis queue publish")
        if self._prefix:
            commands = [(c, self._prefix + key, value) for c, key, value in commands]
        return commands

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.release()  # type: ignore[no-untyped-call]
                self._connection = None
