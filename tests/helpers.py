"""Test helpers: signing like Sentry, waiting, a real HTTP target, worker processes."""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal, TypeVar

import redis

from remediator.intake.signature import sign
from remediator.worker.commands import celery_command, worker_options

PAYLOADS = Path(__file__).parent / "payloads"
SECRET = "test-client-secret"
TOKEN = "test-api-token"
STANDIN_TOKEN = "test-sentry-auth-token"
APP_ID = "5f0e8a1e-remediator-test-app"

T = TypeVar("T")

WORKSPACE_PYTEST = [
    sys.executable,
    "-m",
    "pytest",
    "-q",
    "-p",
    "no:cacheprovider",
    "-p",
    "no:celery",
    "-p",
    "no:docker_tools",
]
"""How a fix workspace's tests run in these tests: this interpreter's pytest, without the
plugins this suite turns off."""


def remediator_command(
    *args: str, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`remediator ARGS` as a user runs it, in this environment, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "remediator", *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def payload(name: str) -> dict[str, Any]:
    """A fresh copy of one of Sentry's example payloads."""
    return copy.deepcopy(json.loads((PAYLOADS / f"{name}.json").read_text()))


def sentry_headers(resource: str, body: bytes, secret: str = SECRET) -> dict[str, str]:
    """The headers Sentry sends with a webhook delivery."""
    return {
        "Content-Type": "application/json",
        "Request-ID": os.urandom(16).hex(),
        "Sentry-Hook-Resource": resource,
        "Sentry-Hook-Timestamp": str(int(time.time())),
        "Sentry-Hook-Signature": sign(secret, body),
    }


def encode(document: Any) -> bytes:
    """Compact JSON, as Sentry sends it."""
    return json.dumps(document, separators=(",", ":")).encode()


def wait_for(
    check: Callable[[], T | Literal[False] | None],
    timeout: float = 20.0,
    interval: float = 0.05,
    what: str = "condition",
) -> T:
    """Poll check until it returns something truthy; fail after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def wait_for_items(
    fetch: Callable[[], list[T]], count: int = 1, timeout: float = 20.0, what: str = "items"
) -> list[T]:
    """Poll fetch until it returns at least count items."""

    def enough() -> list[T] | None:
        items = fetch()
        return items if len(items) >= count else None

    return wait_for(enough, timeout, 0.1, what)


class HttpTarget:
    """A real HTTP server that records requests; `/status/<code>` answers that code."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        target = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                target.requests.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "body": body.decode("utf-8", "replace"),
                        "headers": dict(self.headers),
                    }
                )
                code = 200
                if self.path.startswith("/status/"):
                    code = int(self.path.split("/")[2])
                reply = json.dumps({"path": self.path, "method": self.command}).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def paths(self) -> list[str]:
        """The paths requested so far, in order."""
        return [r["path"] for r in self.requests]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class WorkerProcess:
    """A real `celery worker` process for one tier, as the Procfile runs it."""

    def __init__(
        self,
        tier: str,
        log_dir: Path,
        env: dict[str, str] | None = None,
        concurrency: int = 2,
        name: str | None = None,
    ) -> None:
        self.tier = tier
        self.name = name or f"{tier}-test"
        self.log_path = log_dir / f"worker-{self.name}.log"
        self.env = {**os.environ, **(env or {})}
        self.concurrency = concurrency
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> WorkerProcess:
        argv = [
            *celery_command("worker", *worker_options(self.tier, self.concurrency, self.name)),
            "-P",
            "prefork",
            "--without-mingle",
            "--without-gossip",
        ]
        with open(self.log_path, "ab") as log:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, env=self.env, start_new_session=True
            )
        wait_for(lambda: self.ready() or self._died(), timeout, 0.1, f"worker {self.name} ready")
        if self.process.poll() is not None:
            raise AssertionError(f"worker {self.name} exited:\n{self.log()}")
        return self

    def _died(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def ready(self) -> bool:
        return b" ready." in self.log_path.read_bytes() if self.log_path.exists() else False

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout: float = 20.0) -> None:
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@contextmanager
def running_worker(tier: str, log_dir: Path, **kwargs: Any) -> Iterator[WorkerProcess]:
    """A worker process for the duration of a with-block."""
    worker = WorkerProcess(tier, log_dir, **kwargs).start()
    try:
        yield worker
    finally:
        worker.stop()


def clean(client: redis.Redis) -> None:
    """Delete remediator's job-store keys and queues (never anything else)."""
    keys = list(client.scan_iter("remediator:*")) + list(client.scan_iter("remediator.*"))
    if keys:
        client.delete(*keys)


def queued_messages(client: redis.Redis, queue: str) -> dict[str, list[dict[str, Any]]]:
    """The messages waiting in each of a queue's priority lists (kombu's Redis layout)."""
    lists = {"0": queue, **{p: f"{queue}\x06\x16{p}" for p in ("3", "6", "9")}}
    return {
        p: [json.loads(m) for m in client.lrange(key, 0, -1)] for p, key in lists.items() if client.llen(key)
    }


def queued(client: redis.Redis, queue: str) -> dict[str, list[str]]:
    """Task ids waiting in each of a queue's priority lists."""
    return {p: [m["headers"]["id"] for m in ms] for p, ms in queued_messages(client, queue).items()}


def queued_tasks(client: redis.Redis, queue: str) -> list[tuple[str, Any]]:
    """(task name, args) of every message waiting on a queue, highest priority first."""
    return [
        (m["headers"]["task"], m["headers"].get("argsrepr"))
        for _, ms in sorted(queued_messages(client, queue).items(), key=lambda kv: int(kv[0]))
        for m in ms
    ]


def drained(client: redis.Redis, queue: str) -> bool:
    """Whether every message of the queue was taken and acknowledged (nothing waiting, and
    nothing delivered but unacknowledged)."""
    return not queued_messages(client, queue) and not client.hlen("unacked")


@contextmanager
def installed_plugin(
    directory: Path, module: str, source: str, group: str, entries: dict[str, str]
) -> Iterator[None]:
    """An installed distribution (a module and its dist-info on sys.path) that registers
    `entries` (name -> "module:attr") in an entry-point group, for a with-block."""
    (directory / f"{module}.py").write_text(source)
    dist = directory / f"{module}-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n")
    lines = "".join(f"{name} = {target}\n" for name, target in entries.items())
    (dist / "entry_points.txt").write_text(f"[{group}]\n{lines}")
    sys.path.insert(0, str(directory))
    try:
        yield
    finally:
        sys.path.remove(str(directory))
        sys.modules.pop(module, None)


@contextmanager
def github_standin(token: str, remotes: dict[str, str] | None = None) -> Iterator[Any]:
    """The GitHub stand-in (pulls, refs, comments; `remotes`: owner/repo -> a git remote)."""
    from remediator.testing import NotifyStandIn

    server = NotifyStandIn(github_token=token, git_remotes=remotes or {}).start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def web_process(
    tmp_path: Path, broker_url: str, rules_file: Path, workers: int = 2
) -> Iterator[dict[str, Any]]:
    """`remediator web` (gunicorn, as deployed) on a free port with this rule file, once it
    answers /healthz: {"base", "process", "log", "env"}; stopped with SIGTERM afterwards."""
    import requests

    from remediator.local.embedded_redis import free_port

    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SENTRY_")},
        "REMEDIATOR_BROKER_URL": broker_url,
        "REMEDIATOR_RULES_FILE": str(rules_file),
        "REMEDIATOR_DATA_DIR": str(tmp_path / "var"),
        "PORT": str(port),
    }
    log_path = tmp_path / "web.log"
    log = open(log_path, "wb")  # noqa: SIM115 - the process writes it until it stops
    process = subprocess.Popen(
        [sys.executable, "-m", "remediator", "web", "--workers", str(workers)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert process.poll() is None, log_path.read_text()
        try:
            return requests.get(f"{base}/healthz", timeout=1).ok
        except requests.RequestException:
            return False

    try:
        wait_for(up, timeout=30, interval=0.2, what="the web to answer")
        yield {"base": base, "process": process, "log": log_path, "env": env}
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def person(client: redis.Redis, name: str, role: str) -> str:
    """A person of `role` in the directory on `client`'s Redis; returns a fresh token of theirs."""
    from remediator.people.directory import Directory
    from remediator.people.roles import Role

    directory = Directory(client)
    if directory.get(name) is None:
        return directory.add(name, Role.parse(role), "tests")[1]
    directory.set_role(name, Role.parse(role))
    return directory.issue_token(name)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
