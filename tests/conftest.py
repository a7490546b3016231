"""Fixtures: one real Redis for the session, real worker processes, a real HTTP target.
Redis and the Sentry stand-in start once, before the first test, only when a collected test
needs them (a fixture depending on `broker_url` or `standin`): pure tests start nothing.

The Redis is an embedded redis-server on a free port (REMEDIATOR_TEST_BROKER_URL points the
suite at another one instead; the suite deletes its own keys there, `remediator:*` and the
`remediator.*` queues, and uses databases 0-4). The environment is set before anything reads
settings, so worker subprocesses inherit it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from remediator.local.embedded_redis import EmbeddedRedis
from remediator.testing import SentryStandIn
from tests.helpers import APP_ID, SECRET, STANDIN_TOKEN, TOKEN, HttpTarget, WorkerProcess, clean

_embedded: EmbeddedRedis | None = None
_standin = SentryStandIn(token=STANDIN_TOKEN, org="acme")
_state_dir = Path(tempfile.mkdtemp(prefix="remediator-tests-"))


def _db_url(base: str, db: int) -> str:
    return f"{base.rsplit('/', 1)[0]}/{db}"


STATIC_ENV = {
    "SENTRY_ENVIRONMENT": "test",
    "REMEDIATOR_SENTRY_AUTH_TOKEN": STANDIN_TOKEN,
    "REMEDIATOR_SENTRY_ORG": "acme",
    "REMEDIATOR_SENTRY_APP_ID": APP_ID,
    "REMEDIATOR_DATA_DIR": str(_state_dir / "var"),
    "REMEDIATOR_SENTRY_CLIENT_SECRET": SECRET,
    "REMEDIATOR_API_TOKEN": TOKEN,
    # Verification windows of a second or two keep the suite short (the default
    # floor is a minute: see README "Rules").
    "REMEDIATOR_MIN_VERIFY_AFTER": "1",
}
"""What every test's environment says, services or not."""

SERVICE_FIXTURES = frozenset({"broker_url", "standin"})
"""Every fixture that needs the session's Redis or Sentry stand-in depends on one of these."""


def pytest_configure(config: pytest.Config) -> None:
    global _embedded
    os.environ.update(STATIC_ENV)
    # The broker's URL is known before collection, though Redis starts only after it: a
    # test module's import can make Celery finalize its app (pytest looks at a task proxy's
    # attributes while collecting), which reads the configuration; without a broker URL
    # then, that half-finalized app would know no task of ours for the rest of the session.
    url = os.environ.get("REMEDIATOR_TEST_BROKER_URL")
    if not url:
        _embedded = EmbeddedRedis(_state_dir / "redis", persist=False)
        url = _embedded.url
    os.environ["REMEDIATOR_BROKER_URL"] = _db_url(url, 0)
    os.environ.pop("REMEDIATOR_RULES_FILE", None)
    os.environ.pop("REMEDIATOR_TIERS", None)
    from remediator.settings import get_settings

    get_settings.cache_clear()


def pytest_collection_finish(session: pytest.Session) -> None:
    """The session's Redis and Sentry stand-in start once, before the first test, when a
    collected test needs them: pure tests alone start no service."""
    if any(SERVICE_FIXTURES & set(getattr(item, "fixturenames", ())) for item in session.items):
        _start_services()


def _start_services() -> None:
    if _embedded is not None:
        _embedded.start()
    _standin.start()
    os.environ.update(
        {
            # Every worker process reports to the local Sentry stand-in and writes back to it.
            "SENTRY_DSN": _standin.dsn,
            "REMEDIATOR_SENTRY_API_URL": _standin.api_url,
        }
    )
    from remediator.settings import get_settings

    get_settings.cache_clear()


def pytest_unconfigure(config: pytest.Config) -> None:
    if _standin._thread is not None:
        _standin.stop()
    if _embedded is not None:
        _embedded.stop()


@pytest.fixture(scope="session")
def broker_url() -> str:
    """Database 0: the session workers' broker and job store."""
    return os.environ["REMEDIATOR_BROKER_URL"]


@pytest.fixture(scope="session")
def idle_broker_url(broker_url: str) -> str:
    """Database 2: a broker no worker consumes, to inspect queued messages."""
    return _db_url(broker_url, 2)


@pytest.fixture(scope="session")
def log_dir() -> Path:
    path = _state_dir / "logs"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture
def private_broker_url(broker_url: str) -> str:
    """Database 3, cleared: a broker for tests that start their own workers (no session
    worker consumes it)."""
    url = _db_url(broker_url, 3)
    clean(redis.Redis.from_url(url))
    return url


@pytest.fixture
def redis_db(broker_url: str) -> Iterator[redis.Redis]:
    """A client on database 0, with remediator's keys and queues cleared before the test."""
    client = redis.Redis.from_url(broker_url, decode_responses=True)
    clean(client)
    yield client
    client.close()


@pytest.fixture
def idle_redis(idle_broker_url: str) -> Iterator[redis.Redis]:
    """A client on the idle database, cleared before the test."""
    client = redis.Redis.from_url(idle_broker_url, decode_responses=True)
    clean(client)
    yield client
    client.close()


@pytest.fixture(scope="session")
def workers(log_dir: Path, broker_url: str) -> Iterator[dict[str, WorkerProcess]]:
    """One real worker process per tier on database 0, for the whole session."""
    started = {tier: WorkerProcess(tier, log_dir).start() for tier in ("prod", "nonprod")}
    yield started
    for worker in started.values():
        worker.stop()


@pytest.fixture
def http_target() -> Iterator[HttpTarget]:
    """A real HTTP server that records what the jobs call."""
    target = HttpTarget()
    yield target
    target.close()


@pytest.fixture
def make_app(tmp_path: Path, broker_url: str):  # type: ignore[no-untyped-def]
    """Build the web app with a given rule file text and broker (default: database 0). At the
    test's end each app's pending trend counts are written, so none lands in a later test."""
    from remediator.settings import Settings
    from remediator.web.app import create_app

    def build(rules: str | None = None, broker: str | None = None, **settings: object):  # type: ignore[no-untyped-def]
        # In-process apps neither report to Sentry nor write back unless a test asks.
        values: dict[str, object] = {
            "broker_url": broker or broker_url,
            "data_dir": tmp_path / "var",
            "sentry_dsn": None,
            "sentry_auth_token": None,
            **settings,
        }
        if rules is not None:
            path = tmp_path / "rules.yaml"
            path.write_text(rules)
            values["rules_file"] = path
        app = create_app(Settings(**values))  # type: ignore[arg-type]
        built.append(app)
        return app

    built: list[Any] = []
    yield build
    for app in built:
        app.extensions["remediator"].webhook_counts.flush()


@pytest.fixture
def standin() -> SentryStandIn:
    """The session's Sentry stand-in, emptied for this test."""
    _standin.reset()
    return _standin
