"""`remediator up`: embedded Redis (unless a broker is configured), then the Procfile."""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import shlex
import shutil
import socket
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import IO, Any

from remediator.errors import ConfigurationError
from remediator.local.demo import STANDIN_FILE, WEB_URL_FILE
from remediator.local.embedded_redis import EmbeddedRedis
from remediator.settings import EMBEDDED_BROKER_FILE, Settings, running_up_path
from remediator.worker.commands import celery_command

PROCFILE = Path(__file__).parent / "Procfile"
"""The process list (the repository's top-level Procfile links here)."""

SECRETS_FILE = "secrets.json"
"""Generated client secret and API token, in the data dir, mode 0600."""

KILL_WAIT_SECONDS = 20
"""How long Ctrl-C waits for workers to finish running jobs before killing them."""


def resolve_secrets(settings: Settings) -> tuple[dict[str, str], list[str]]:
    """The client secret and API token: from the environment, else generated once into
    the data dir. Returns them as environment variables and the names generated."""
    path = settings.data_dir / SECRETS_FILE
    stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    generated: list[str] = []
    values: dict[str, str] = {}
    for field in ("sentry_client_secret", "api_token"):
        value = getattr(settings, field) or stored.get(field)
        if not value:
            value = stored[field] = secrets.token_hex(32)
            generated.append(field)
        values[f"REMEDIATOR_{field.upper()}"] = value
    if generated:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(stored, handle, indent=2)
    return values, generated


class _Tee:
    """Honcho's printer output: the terminal and the log file."""

    def __init__(self, *streams: IO[str]) -> None:
        self.streams = streams

    def write(self, text: str) -> None:
        for stream in self.streams:
            stream.write(text)
            stream.flush()

    def flush(self) -> None:
        for stream in self.streams:
            stream.flush()

    def isatty(self) -> bool:
        return self.streams[0].isatty()


READY_WAIT_SECONDS = 120.0
"""How long `up` waits for the web and every tier's worker before saying what is missing."""


def announce_ready(settings: Settings, broker_url: str, echo: Any) -> None:
    """Say `ready` once the web answers and every tier has a worker consuming its queue,
    so the first job does not wait; or, after READY_WAIT_SECONDS, what is still missing."""
    from remediator.jobs import redis_client
    from remediator.worker.health import health_report

    client = redis_client(broker_url)
    deadline = time.monotonic() + READY_WAIT_SECONDS
    report: dict[str, Any] = {}
    web = False
    while time.monotonic() < deadline:
        web = web or _our_web_answers(settings.port)
        _, report = health_report(client, settings.tiers, settings.heartbeat_interval)
        if web and report.get("ready"):
            tiers = ", ".join(settings.tiers)
            echo(f"ready:    web on port {settings.port}, workers consuming {tiers}: jobs run now")
            return
        time.sleep(0.5)
    missing = [t for t, entry in report.get("tiers", {}).items() if not entry.get("ready")]
    echo(
        f"not ready after {READY_WAIT_SECONDS:g}s: "
        + ("web not answering; " if not web else "")
        + (f"no worker consuming {', '.join(missing)}" if missing else "")
        + " (see the log above)"
    )


def _our_web_answers(port: int) -> bool:
    """Whether remediator's own web answers on the port (its /healthz), not any program."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=0.5) as answer:
            document = json.loads(answer.read())
    except (OSError, ValueError):
        return False
    return isinstance(document, dict) and "broker" in document and "status" in document


def port_in_use(host: str, port: int) -> bool:
    """Whether another program holds the port (binding it fails)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def _note_running(data_dir: Path, port: int) -> Path | None:
    """Tell this user's operator commands, wherever they run, where this `up` is."""
    path = running_up_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"data_dir": str(data_dir), "port": port, "pid": os.getpid()}))
    except OSError:
        return None  # a read-only home: the commands then work from this directory only
    return path


def _forget_running(path: Path | None) -> None:
    """Remove the note, if it still names this process (a later `up` may have replaced it)."""
    if path is None:
        return
    try:
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


def flower_command(settings: Settings) -> str:
    """Flower on loopback, against the same broker (its API open: it listens on 127.0.0.1)."""
    if importlib.util.find_spec("flower") is None:
        raise ConfigurationError("Flower is an optional extra: pip install 'remediator[flower]'")
    argv = celery_command("flower", "--address=127.0.0.1", f"--port={settings.flower_port}")
    return " ".join(shlex.quote(arg) for arg in argv)


def _fresh_dir(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def run_up(settings: Settings, echo: Any = print, demo: bool = False, flower: bool = False) -> int:
    """Run the whole system in the foreground until Ctrl-C; returns the exit status."""
    import honcho.manager
    from honcho.environ import expand_processes, parse_procfile
    from honcho.printer import Printer

    for name, port in (("web", settings.port), *((("flower", settings.flower_port),) if flower else ())):
        if port_in_use(settings.web_host, port):
            option = "set PORT (or --port)" if name == "web" else "set REMEDIATOR_FLOWER_PORT"
            raise ConfigurationError(f"port {port} is in use (the {name} would listen there): {option}")
    data_dir = settings.data_dir.resolve()
    logs = data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    env_secrets, generated = resolve_secrets(settings)

    embedded: EmbeddedRedis | None = None
    url_file = data_dir / EMBEDDED_BROKER_FILE
    if settings.broker_url:
        broker_url = settings.broker_url
        echo(f"broker:   {broker_url} (REMEDIATOR_BROKER_URL; no embedded Redis)")
    else:
        embedded = EmbeddedRedis(data_dir / "redis").start()
        broker_url = embedded.url
        url_file.write_text(broker_url + "\n")
        echo(f"broker:   embedded Redis {broker_url}, data in {data_dir / 'redis'}")

    demo_env: dict[str, str] = {}
    standin = None
    if demo:
        from remediator.local.demo import start_demo

        standin, demo_env = start_demo(settings, data_dir)

    env = {
        **os.environ,
        **demo_env,
        **env_secrets,
        "REMEDIATOR_BROKER_URL": broker_url,
        "REMEDIATOR_DATA_DIR": str(data_dir),
        "PORT": str(settings.port),
        # Honcho gives each process its own PORT; links in comments must name the web's.
        "REMEDIATOR_PUBLIC_URL": settings.public_url or f"http://127.0.0.1:{settings.port}",
        "PYTHONUNBUFFERED": "1",
        **({"REMEDIATOR_FLOWER_URL": f"http://127.0.0.1:{settings.flower_port}"} if flower else {}),
        # Every process (gunicorn workers, Celery pool children) writes its metrics here;
        # /metrics adds them up. Emptied at each start: counters restart with the processes.
        "PROMETHEUS_MULTIPROC_DIR": str(_fresh_dir(data_dir / "metrics")),
        # The Procfile's `remediator ...` commands come from this same installation.
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    }
    kept = data_dir / SECRETS_FILE
    if "sentry_client_secret" in generated:
        secret_note = f"generated, kept in {kept}"
    elif settings.sentry_client_secret:
        secret_note = "from REMEDIATOR_SENTRY_CLIENT_SECRET"
    else:
        secret_note = f"generated at the first start, kept in {kept}"
    echo(f"webhook:  POST http://127.0.0.1:{settings.port}/sentry/webhook")
    echo(
        f"secret:   {env_secrets['REMEDIATOR_SENTRY_CLIENT_SECRET']} "
        f"(the Sentry integration's client secret; {secret_note})"
    )
    echo(f"console:  http://127.0.0.1:{settings.port}/  (sign in with the API token: the bootstrap admin)")
    echo(
        f"api:      http://127.0.0.1:{settings.port}/api/jobs  "
        f"Authorization: Bearer {env_secrets['REMEDIATOR_API_TOKEN']}"
    )
    echo(f"rules:    {demo_env.get('REMEDIATOR_RULES_FILE', settings.rules_file)}")
    if standin is not None:
        echo(f"demo:     Sentry stand-in at {standin.url} (telemetry and write-back go there);")
        echo(f"          to point other commands at it (also in {data_dir / STANDIN_FILE}):")
        for name in ("REMEDIATOR_SENTRY_API_URL", "REMEDIATOR_SENTRY_AUTH_TOKEN", "REMEDIATOR_SENTRY_ORG"):
            echo(f"          export {name}={demo_env[name]}")
        echo(f"          export SENTRY_DSN={demo_env['SENTRY_DSN']}   # project {standin.project_id}")
        echo("          try: remediator demo send   then: remediator jobs list")
    echo(f"logs:     {logs / 'remediator.log'}" + (f" and {embedded.log_file}" if embedded else ""))
    if flower:
        flower_command(settings)  # fails here, before anything starts, when Flower is missing
        echo(f"flower:   http://127.0.0.1:{settings.flower_port}  (API: /api/workers, /api/queues/length)")
    echo("Ctrl-C stops everything.")

    web_url_file = data_dir / WEB_URL_FILE
    web_url_file.write_text(env["REMEDIATOR_PUBLIC_URL"] + "\n")
    note = _note_running(data_dir, settings.port)
    watcher = threading.Thread(
        target=announce_ready, args=(settings, broker_url, echo), name="ready-watch", daemon=True
    )
    watcher.start()
    honcho.manager.KILL_WAIT = KILL_WAIT_SECONDS
    procfile = parse_procfile(PROCFILE.read_text())
    with open(logs / "remediator.log", "a", encoding="utf-8") as log_file:
        manager = honcho.manager.Manager(Printer(_Tee(sys.stdout, log_file)))
        for proc in expand_processes(procfile.processes, env=env, port=settings.port):
            manager.add_process(proc.name, proc.cmd, quiet=proc.quiet, env=proc.env)
        if flower:
            manager.add_process(
                "flower", flower_command(settings), env={**env, "FLOWER_UNAUTHENTICATED_API": "true"}
            )
        try:
            manager.loop()
        finally:
            web_url_file.unlink(missing_ok=True)
            _forget_running(note)
            if standin is not None:
                standin.stop()
                (data_dir / STANDIN_FILE).unlink(missing_ok=True)
            if embedded is not None:
                url_file.unlink(missing_ok=True)
                embedded.stop()
                echo("embedded Redis stopped")
    return int(manager.returncode or 0)
