"""What every process builds from the settings in the same way: the validated rule file,
and the rules as a running process holds them (reloaded when the file changes or on
SIGHUP, an invalid file keeping the running rules)."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from remediator.errors import RuleError
from remediator.lifecycle import EventKind
from remediator.listeners import strategies
from remediator.redaction import register_secret
from remediator.remediation_scripts import registry
from remediator.rules import RuleSet, load_rules
from remediator.settings import Settings

log = logging.getLogger(__name__)

KEEP_LAST_GOOD_ENV = "REMEDIATOR_RULES_KEEP_LAST_GOOD"
"""Set by `remediator web` for its gunicorn workers: a worker started by the master (a
reload, a recycled or crashed worker) whose rule file turned invalid starts with the rules
the master's workers last ran, instead of failing to boot and taking the master down."""


def configured_rules(settings: Settings, path: Path | None = None, text: str | None = None) -> RuleSet:
    """The rule file (REMEDIATOR_RULES_FILE unless given; `text`: its content, already
    read), validated against the scripts, tiers, verification strategies, approval tiers
    and event kinds this installation has; `${VAR}` in its notify section reads this
    process's environment, and the channels' credentials are registered as secrets (never
    logged, shown or sent elsewhere)."""
    path = path or settings.rules_file
    rules = load_rules(
        path,
        scripts=registry(),
        tiers=settings.tiers,
        verifications=strategies(),
        approval_tiers=settings.approval_tiers,
        min_verify_after=settings.min_verify_after,
        events=[kind.value for kind in EventKind],
        environ=os.environ,
        text=text,
    )
    for secret in rules.notify.secrets():
        register_secret(secret)
    return rules


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:12]


class LiveRules:
    """The rules this process runs. Reading `current` looks at the file at most every
    `check_every` seconds (one stat) and reloads it, after validation, when it changed;
    `request_reload()` (SIGHUP) forces the next read to reload. An invalid file keeps the
    running rules: the error, naming the rule and field, is logged once per version of the
    file and kept in `status()` for /healthz. Jobs already planned keep what they were
    planned with (their record carries it)."""

    def __init__(
        self,
        settings: Settings,
        path: Path | None = None,
        check_every: float = 2.0,
        keep_last_good: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings, self.path = settings, Path(path or settings.rules_file)
        self.check_every, self.clock = check_every, clock
        self._snapshot = keep_last_good
        self._lock = threading.Lock()
        self._requested = False
        self._stat: tuple[int, int, int] | None = None
        self._next = clock() + check_every
        self.last_error: str | None = None
        self.last_error_at: float | None = None
        self._failed: str | None = None
        self.on_reload: Callable[[bytes, RuleSet], None] | None = None
        """Called (outside the lock) after new rules replaced the running ones: the web
        writes the reload to the audit trail with the file's SHA-256 and its rules' names."""
        data = self._read()
        try:
            self._rules = configured_rules(settings, self.path, data.decode("utf-8", "replace"))
        except RuleError as exc:
            fallback = self._last_good()
            if fallback is None:
                raise
            self._rules, self.version = fallback
            self._refused(_digest(data), str(exc))
        else:
            self.version = _digest(data)
            self._keep(data)
        self.loaded_at = time.time()

    # -- reading ------------------------------------------------------------------------

    @property
    def current(self) -> RuleSet:
        """The rules to use now (reloaded first when the file changed or a reload was asked)."""
        if self._requested or self.clock() >= self._next:
            self.check()
        return self._rules

    def __call__(self) -> RuleSet:
        return self.current

    def request_reload(self, *_: Any) -> None:
        """Reload at the next read (safe in a signal handler: it only sets a flag)."""
        self._requested = True

    def check(self) -> bool:
        """Reload if the file changed (or a reload was asked); True when new rules run."""
        with self._lock:
            forced, self._requested = self._requested, False
            self._next = self.clock() + self.check_every
            try:
                stat = os.stat(self.path)
            except OSError as exc:
                self._refused("unreadable", f"{self.path}: cannot read the rule file: {exc.strerror}")
                return False
            key = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
            if key == self._stat and not forced:
                return False
            self._stat = key
            data = self._read()
            digest = _digest(data)
            if digest == self.version:
                self.last_error = self.last_error_at = self._failed = None
                return False
            if digest == self._failed and not forced:
                return False
            try:
                rules = configured_rules(self.settings, self.path, data.decode("utf-8", "replace"))
            except RuleError as exc:
                self._refused(digest, str(exc))
                return False
            self._rules, self.version, self.loaded_at = rules, digest, time.time()
            self.last_error = self.last_error_at = self._failed = None
            self._keep(data)
        log.warning("rules reloaded from %s: version %s, %d rules", self.path, digest, len(rules.rules))
        if self.on_reload is not None:
            self.on_reload(data, rules)
        return True

    def status(self) -> dict[str, Any]:
        """What /healthz shows: the running version and the last refused file's error
        (after looking at the file, as any use of the rules does)."""
        rules = self.current
        return {
            "pid": os.getpid(),
            "file": str(self.path),
            "version": self.version,
            "rules": len(rules.rules),
            "loaded_at": self.loaded_at,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at,
        }

    # -- the file -----------------------------------------------------------------------

    def _read(self) -> bytes:
        try:
            stat = os.stat(self.path)
            self._stat = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
            return self.path.read_bytes()
        except OSError as exc:
            raise RuleError(f"{self.path}: cannot read the rule file: {exc.strerror}") from None

    def _refused(self, digest: str, error: str) -> None:
        if digest != self._failed:
            log.error(
                "rules NOT reloaded from %s, still running version %s: %s",
                self.path,
                getattr(self, "version", "?"),
                error,
            )
        self._failed, self.last_error, self.last_error_at = digest, error, time.time()

    def _keep(self, data: bytes) -> None:
        """Write the good file where a sibling process started later can find it."""
        if self._snapshot is None:
            return
        try:
            self._snapshot.parent.mkdir(parents=True, exist_ok=True)
            partial = self._snapshot.with_name(f"{self._snapshot.name}.{os.getpid()}.tmp")
            partial.write_bytes(data)
            partial.replace(self._snapshot)
        except OSError as exc:
            log.warning("could not keep the last good rules at %s: %s", self._snapshot, exc)

    def _last_good(self) -> tuple[RuleSet, str] | None:
        if self._snapshot is None or not self._snapshot.is_file():
            return None
        data = self._snapshot.read_bytes()
        try:
            return configured_rules(self.settings, self.path, data.decode("utf-8", "replace")), _digest(data)
        except RuleError:
            return None


def last_good_path(settings: Settings, supervisor: int) -> Path:
    """Where the workers of one supervising process (a gunicorn master) keep their last
    good rule file."""
    return settings.data_dir / "rules" / f"last-good.{supervisor}.yaml"
