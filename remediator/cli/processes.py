"""Process commands: `up`, `web`, `worker`, `beat`."""

from __future__ import annotations

import os
import sys

import click

from remediator.cli.base import check_limits, checked_rules, exec_process, main, settings_or_exit
from remediator.defaults import WEB_GUNICORN_OPTIONS
from remediator.errors import RemediatorError
from remediator.worker.commands import celery_command, worker_options


@main.command()
@click.option("--port", type=int, help="Web port (default: $PORT or 8000).")
@click.option("--demo", is_flag=True, help="Also run a local Sentry stand-in and point everything at it.")
@click.option("--flower", is_flag=True, help="Also run Flower (pip install 'remediator[flower]').")
def up(port: int | None, demo: bool, flower: bool) -> None:
    """Run everything: embedded Redis (unless REMEDIATOR_BROKER_URL is set), web, one
    worker per tier, beat. Ctrl-C stops it all."""
    from remediator.local.up import run_up

    settings = settings_or_exit(follow_up=False)
    if port is not None:
        settings = settings.model_copy(update={"port": port})
    check_limits(settings)
    try:
        checked_rules(settings)
        sys.exit(run_up(settings, echo=click.echo, demo=demo, flower=flower))
    except RemediatorError as exc:
        raise click.ClickException(str(exc)) from None


@main.command()
@click.option("--workers", default=2, show_default=True, help="gunicorn worker processes.")
def web(workers: int) -> None:
    """Run the web process under gunicorn on $PORT (host: REMEDIATOR_WEB_HOST)."""
    settings = settings_or_exit(follow_up=False)
    try:  # said once, here, rather than by every gunicorn worker as it fails to boot
        settings.require("sentry_client_secret", "api_token")
    except RemediatorError as exc:
        raise click.ClickException(str(exc)) from None
    check_limits(settings)
    checked_rules(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    from remediator.live_rules import KEEP_LAST_GOOD_ENV

    os.environ[KEEP_LAST_GOOD_ENV] = "1"
    exec_process(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"{settings.web_host}:{settings.port}",
            "--workers",
            str(workers),
            *WEB_GUNICORN_OPTIONS,
            "--access-logfile",
            "-",
            "--error-logfile",
            "-",
            # gunicorn's control socket would default to ~/.gunicorn, shared by every instance.
            "--control-socket",
            str(settings.data_dir.resolve() / "gunicorn.ctl"),
            "remediator.web.app:create_app()",
        ]
    )


@main.command()
@click.argument("tier")
@click.option("--concurrency", "-c", type=int, help="Pool processes (default: setting).")
@click.option("--name", help="Node name before @host (default: the tier); distinct per worker on one host.")
def worker(tier: str, concurrency: int | None, name: str | None) -> None:
    """Run one tier's Celery worker: it consumes that tier's queue and nothing else."""
    settings = settings_or_exit(follow_up=False)
    if tier not in settings.tiers:
        raise click.ClickException(f"unknown tier {tier!r}; known: {', '.join(settings.tiers)}")
    check_limits(settings)
    exec_process(
        celery_command("worker", *worker_options(tier, concurrency or settings.worker_concurrency, name))
    )


@main.command()
def beat() -> None:
    """Run Celery beat (only one per deployment): it sends each tier its heartbeat."""
    settings = settings_or_exit(follow_up=False)
    check_limits(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    exec_process(
        celery_command("beat", "-s", str(settings.data_dir / "celerybeat-schedule"), "--loglevel", "INFO")
    )


@main.command("metrics-exporter")
@click.option("--port", type=int, default=9464, show_default=True, help="Port to serve /metrics on.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (0.0.0.0: reachable).")
def metrics_exporter(port: int, host: str) -> None:
    """Serve the counters of this host's remediator processes (the workers and their pool
    children write them under $PROMETHEUS_MULTIPROC_DIR) for Prometheus: run one on each
    worker host; the web's /metrics serves its own host's and the Redis gauges."""
    import os
    import time

    from prometheus_client import CollectorRegistry, multiprocess, start_http_server

    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder or not os.path.isdir(folder):
        raise click.ClickException(
            "set PROMETHEUS_MULTIPROC_DIR to the folder this host's workers write their metrics to "
            "(the same value in the workers' environment; the folder must exist)"
        )
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=folder)  # type: ignore[no-untyped-call]
    server, thread = start_http_server(port, addr=host, registry=registry)
    click.echo(f"metrics of the processes writing to {folder}: http://{host}:{server.server_port}/metrics")
    try:
        while thread.is_alive():
            time.sleep(1)
    except KeyboardInterrupt:
        server.shutdown()
