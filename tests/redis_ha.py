"""A real Redis high-availability group for the failover tests: a master, a replica and a
Sentinel, each its own redis-server process (the binary `remediator up` uses)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import redis

from remediator.local.embedded_redis import find_redis_server, free_port
from tests.helpers import wait_for

MASTER_NAME = "remediator-test"


class SentinelGroup:
    """Master, replica and one Sentinel (quorum 1) on loopback, in a directory of ours."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.binary = find_redis_server()
        self.master_port, self.replica_port, self.sentinel_port = free_port(), free_port(), free_port()
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def url(self) -> str:
        """The broker URL every remediator process is given (kombu's form)."""
        return f"sentinel://127.0.0.1:{self.sentinel_port}/0"

    def _start(self, name: str, *args: str) -> None:
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "log", "wb") as log:  # the child keeps its own copy of the descriptor
            self.processes[name] = subprocess.Popen(
                [self.binary, *args], cwd=folder, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def start(self) -> SentinelGroup:
        common = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no"]
        self._start("master", "--port", str(self.master_port), *common)
        wait_for(lambda: self._ping(self.master_port), 10, 0.05, "the master")
        self._start(
            "replica",
            "--port",
            str(self.replica_port),
            "--replicaof",
            "127.0.0.1",
            str(self.master_port),
            *common,
        )
        wait_for(self._replica_in_sync, 10, 0.05, "the replica to sync")
        conf = self.root / "sentinel" / "sentinel.conf"
        conf.parent.mkdir(parents=True, exist_ok=True)
        conf.write_text(
            f"port {self.sentinel_port}\nbind 127.0.0.1\nprotected-mode no\n"
            f"sentinel monitor {MASTER_NAME} 127.0.0.1 {self.master_port} 1\n"
            f"sentinel down-after-milliseconds {MASTER_NAME} 1000\n"
            f"sentinel failover-timeout {MASTER_NAME} 4000\n"
            f"sentinel parallel-syncs {MASTER_NAME} 1\n"
        )
        self._start("sentinel", str(conf), "--sentinel")
        wait_for(lambda: self.master() == self.master_port, 10, 0.05, "the sentinel to know the master")
        wait_for(self._sentinel_sees_replica, 15, 0.1, "the sentinel to find the replica")
        return self

    def _ping(self, port: int) -> bool:
        try:
            return bool(redis.Redis(port=port, socket_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def _replica_in_sync(self) -> bool:
        try:
            info = redis.Redis(port=self.replica_port, socket_timeout=0.5).info("replication")
        except redis.RedisError:
            return False
        return info.get("master_link_status") == "up"

    def _sentinel_sees_replica(self) -> bool:
        client = redis.Redis(port=self.sentinel_port, socket_timeout=0.5, decode_responses=True)
        try:
            return bool(client.execute_command("SENTINEL", "REPLICAS", MASTER_NAME))
        except redis.RedisError:
            return False

    def master(self) -> int | None:
        """The port Sentinel currently names as master."""
        client = redis.Redis(port=self.sentinel_port, socket_timeout=0.5, decode_responses=True)
        try:
            address = client.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME)
        except redis.RedisError:
            return None
        return int(address[1]) if address else None

    def kill_master(self) -> None:
        """SIGKILL the master: no goodbye to clients, replicas or Sentinel."""
        process = self.processes["master"]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def wait_for_failover(self, timeout: float = 30) -> float:
        """The replica's port, once Sentinel promoted it and it accepts writes."""
        started = time.monotonic()
        wait_for(lambda: self.master() == self.replica_port, timeout, 0.1, "Sentinel to promote the replica")
        role = redis.Redis(port=self.replica_port).info("replication")["role"]
        assert role == "master", role
        return time.monotonic() - started

    def client(self) -> redis.Redis:
        """A client of whichever server is master now."""
        port = self.master()
        assert port is not None
        return redis.Redis(port=port, decode_responses=True)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
