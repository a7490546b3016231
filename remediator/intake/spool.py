"""The durable intake spool: verified webhooks that arrived while the broker was down.

Sentry does not retry a failed delivery for internal integrations, so a webhook that passed
its signature check is written here (SQLite in the data dir, fsynced) and answered 202; a
drainer thread submits the spooled webhooks in arrival order once the broker is back.
"""

from __future__ import annotations

import fcntl
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from remediator.errors import BrokerUnavailable

log = logging.getLogger(__name__)


class Spool:
    """Webhooks waiting for the broker, oldest first. Safe across processes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        # gunicorn starts its workers at once: switching a new file to WAL takes a lock that
        # SQLite's busy timeout does not wait for ("database is locked"), so one process at
        # a time sets the file up.
        with open(path.parent / f"{path.name}.setup-lock", "a") as setup_lock:
            fcntl.flock(setup_lock, fcntl.LOCK_EX)
            with self._db() as db:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute(
                    "CREATE TABLE IF NOT EXISTS webhooks (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                    "received_at REAL NOT NULL, resource TEXT NOT NULL, body BLOB NOT NULL, "
                    "request_id TEXT)"
                )

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=5, isolation_level=None)
        try:
            db.execute("PRAGMA synchronous=FULL")
            yield db
        finally:
            db.close()

    def put(self, resource: str, body: bytes, request_id: str | None) -> int:
        """Keep a verified webhook until it can be submitted; returns its spool id."""
        with self._db() as db:
            cursor = db.execute(
                "INSERT INTO webhooks (received_at, resource, body, request_id) VALUES (?, ?, ?, ?)",
                (time.time(), resource, body, request_id),
            )
            return int(cursor.lastrowid or 0)

    def __len__(self) -> int:
        with self._db() as db:
            return int(db.execute("SELECT COUNT(*) FROM webhooks").fetchone()[0])

    def drain(self, submit: Callable[[str, bytes], object]) -> int:
        """Submit spooled webhooks oldest first, each removed once submitted; stops at the
        first BrokerUnavailable. One drainer at a time across processes. Returns how many."""
        done = 0
        with open(self.path.with_suffix(".lock"), "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return 0  # another process is draining
            with self._db() as db:
                while True:
                    row = db.execute("SELECT id, resource, body FROM webhooks ORDER BY id LIMIT 1").fetchone()
                    if row is None:
                        return done
                    try:
                        submit(row[1], bytes(row[2]))
                    except BrokerUnavailable:
                        return done
                    # A crash right here submits it again on restart: dedup makes that a duplicate.
                    db.execute("DELETE FROM webhooks WHERE id = ?", (row[0],))
                    done += 1


class Drainer:
    """A daemon thread that drains the spool every `interval` seconds while it is not empty."""

    def __init__(self, spool: Spool, submit: Callable[[str, bytes], object], interval: float) -> None:
        self.spool, self.submit, self.interval = spool, submit, interval
        self._wake = threading.Event()
        self._stopped = False
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def ensure_running(self) -> None:
        """Start the thread if it is not running (it stops itself when the spool is empty)."""
        if self._stopped:
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="spool-drainer", daemon=True)
                self._thread.start()
        self._wake.set()

    def stop(self) -> None:
        """Stop draining (the spool keeps what it holds for the next process)."""
        self._stopped = True
        self._wake.set()

    def _run(self) -> None:
        while not self._stopped:
            try:
                drained = self.spool.drain(self.submit)
                if drained:
                    log.info("spool: submitted %d webhook(s) received while the broker was down", drained)
                with self._lock:
                    if len(self.spool) == 0:
                        self._thread = None
                        return
            except Exception:
                log.exception("spool: drain failed; retrying")
            self._wake.wait(self.interval)
            self._wake.clear()
        with self._lock:
            self._thread = None
