"""Starting and stopping what the benchmarks measure: Redis, web processes, workers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import requests

from remediator.defaults import WEB_GUNICORN_OPTIONS
from remediator.local.embedded_redis import free_port
from remediator.worker.commands import worker_options

BENCH_RULES = """
rules:
  - name: probe
    approval: false
    match: {culprit: {contains: probe}}
    job: {script: noop, tier: nonprod, class: A}
  - name: bench
    approval: false
    match: {culprit: {contains: database}}
    job: {script: noop, tier: nonprod, class: D}
"""

GUNICORN = ["-w", "2", *WEB_GUNICORN_OPTIONS, "--log-level", "warning"]
"""The same gunicorn settings for remediator and the baseline: those `remediator web` uses."""


class Process:
    """A child process with its log, stopped with SIGTERM (then SIGKILL)."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.log = open(log_dir / f"{name}.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            argv, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.peak_rss = 0

    def sample_rss(self) -> int:
        """The largest RSS of this process or any of its children right now (bytes)."""
        try:
            root = psutil.Process(self.proc.pid)
            rss = max([root.memory_info().rss] + [c.memory_info().rss for c in root.children(True)])
        except psutil.Error:
            return self.peak_rss
        self.peak_rss = max(self.peak_rss, rss)
        return rss

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


def gunicorn(name: str, app: str, env: dict[str, str], log_dir: Path) -> tuple[Process, int]:
    """A gunicorn serving app on a free port, once it answers."""
    port = free_port()
    argv = [sys.executable, "-m", "gunicorn", *GUNICORN, "-b", f"127.0.0.1:{port}", app]
    proc = Process(name, argv, env, log_dir)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return proc, port
        except requests.RequestException:
            if proc.proc.poll() is not None:
                raise RuntimeError(f"{name} exited; see {log_dir / name}.log") from None
            time.sleep(0.2)
    raise RuntimeError(f"{name} did not answer; see {log_dir / name}.log")


def worker(
    name: str, app: str, queue: str, env: dict[str, str], log_dir: Path, concurrency: int = 2
) -> Process:
    """A Celery worker for `app` on `queue` with remediator's worker options, once ready."""
    options = worker_options("nonprod", concurrency, name)
    options[options.index("-Q") + 1] = queue
    argv = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        app,
        "worker",
        *options,
        "--without-mingle",
        "--without-gossip",
    ]
    proc = Process(name, argv, env, log_dir)
    log = log_dir / f"{name}.log"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if b" ready." in log.read_bytes():
            return proc
        if proc.proc.poll() is not None:
            raise RuntimeError(f"{name} exited; see {log}")
        time.sleep(0.1)
    raise RuntimeError(f"{name} not ready; see {log}")
