"""The `remediator` command."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from remediator import defaults
from remediator.errors import RemediatorError
from remediator.settings import Settings, load_settings


def _settings() -> Settings:
    try:
        return load_settings()
    except RemediatorError as exc:
        raise click.ClickException(str(exc)) from None


def celery_command(*args: str) -> list[str]:
    """`celery -A remediator.celery_app ARGS`, with this installation's Python."""
    return [sys.executable, "-m", "celery", "-A", "remediator.celery_app", *args]


def worker_options(tier: str, concurrency: int, name: str | None = None) -> list[str]:
    """A tier's worker: its own queue only, task events on, one process per slot."""
    return [
        "-Q",
        defaults.queue_for(tier),
        "-n",
        f"{name or tier}@%h",
        "-E",
        "-c",
        str(concurrency),
        "--loglevel",
        "INFO",
    ]


def _exec(argv: list[str]) -> NoReturn:
    """Replace this process with argv, so signals reach the real server directly."""
    click.echo("exec: " + " ".join(argv), err=True)
    sys.stdout.flush()
    os.execvp(argv[0], argv)


@click.group()
def main() -> None:
    """remediator: Sentry alerts in, safe and verified remediation jobs out."""


@main.command()
@click.option("--port", type=int, help="Web port (default: $PORT or 8000).")
@click.option("--demo", is_flag=True, help="Also run a local Sentry stand-in and point everything at it.")
def up(port: int | None, demo: bool) -> None:
    """Run everything: embedded Redis (unless REMEDIATOR_BROKER_URL is set), web, one
    worker per tier, beat. Ctrl-C stops it all."""
    from remediator.up import run_up

    settings = _settings()
    if port is not None:
        settings = settings.model_copy(update={"port": port})
    try:
        _check_rules(settings)
        sys.exit(run_up(settings, echo=click.echo, demo=demo))
    except RemediatorError as exc:
        raise click.ClickException(str(exc)) from None


@main.command()
@click.option("--workers", default=2, show_default=True, help="gunicorn worker processes.")
def web(workers: int) -> None:
    """Run the web process under gunicorn on $PORT (host: REMEDIATOR_WEB_HOST)."""
    settings = _settings()
    _check_rules(settings)
    _exec(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"{settings.web_host}:{settings.port}",
            "--workers",
            str(workers),
            "--worker-class",
            "gthread",
            "--threads",
            "4",
            "--timeout",
            "30",
            "--graceful-timeout",
            "20",
            "--access-logfile",
            "-",
            "--error-logfile",
            "-",
            "remediator.app:create_app()",
        ]
    )


@main.command()
@click.argument("tier")
@click.option("--concurrency", "-c", type=int, help="Pool processes (default: setting).")
def worker(tier: str, concurrency: int | None) -> None:
    """Run one tier's Celery worker: it consumes that tier's queue and nothing else."""
    settings = _settings()
    if tier not in settings.tiers:
        raise click.ClickException(f"unknown tier {tier!r}; known: {', '.join(settings.tiers)}")
    _exec(celery_command("worker", *worker_options(tier, concurrency or settings.worker_concurrency)))


@main.command()
def beat() -> None:
    """Run Celery beat (only one per deployment): it sends each tier its heartbeat."""
    settings = _settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    _exec(celery_command("beat", "-s", str(settings.data_dir / "celerybeat-schedule"), "--loglevel", "INFO"))


def _check_rules(settings: Settings, path: Path | None = None) -> Any:
    from remediator.rules import load_rules
    from remediator.scripts import registry

    try:
        return load_rules(path or settings.rules_file, scripts=registry(), tiers=settings.tiers)
    except RemediatorError as exc:
        raise click.ClickException(str(exc)) from None


@main.group()
def rules() -> None:
    """Validate and try out rule files."""


@rules.command("check")
@click.argument("file", required=False, type=click.Path(path_type=Path))
def rules_check(file: Path | None) -> None:
    """Validate FILE (default: REMEDIATOR_RULES_FILE)."""
    settings = _settings()
    ruleset = _check_rules(settings, file)
    click.echo(f"{file or settings.rules_file}: {len(ruleset.rules)} rules OK")
    for rule in ruleset.rules:
        job = rule.job
        click.echo(
            f"  {rule.name}: {job.script} on {job.tier}, class {job.priority_class.value}, "
            f"namespace {job.namespace}" + ("" if rule.enabled else " (disabled)")
        )


def _guess_resource(document: Any) -> str:
    data = document.get("data") if isinstance(document, dict) else None
    for key, resource in (
        ("issue", "issue"),
        ("event", "event_alert"),
        ("error", "error"),
        ("metric_alert", "metric_alert"),
    ):
        if isinstance(data, dict) and key in data:
            return resource
    raise click.ClickException("cannot tell the resource from the payload; pass --resource")


@rules.command("test")
@click.argument("payload", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--resource", help="Sentry-Hook-Resource (guessed from the payload if omitted).")
@click.option(
    "--rules-file",
    "rules_file",
    type=click.Path(path_type=Path),
    help="Rule file (default: REMEDIATOR_RULES_FILE).",
)
def rules_test(payload: Path, resource: str | None, rules_file: Path | None) -> None:
    """Show which rule matches PAYLOAD and the exact job it would submit (submits nothing)."""
    from remediator.payloads import MODELS, decode_json, parse_webhook, subject_of
    from remediator.rules import plan

    settings = _settings()
    ruleset = _check_rules(settings, rules_file)
    try:
        document = decode_json(payload.read_bytes())
        resource = resource or _guess_resource(document)
        if resource not in MODELS:
            raise click.ClickException(f"resource {resource!r} is never matched by rules")
        subject = subject_of(resource, parse_webhook(resource, document))
    except RemediatorError as exc:
        raise click.ClickException(str(exc)) from None
    specs = plan(ruleset, subject)
    if not specs:
        click.echo(f"no rule matches this {resource}.{subject.action}: nothing would run")
        sys.exit(1)
    for spec in specs:
        click.echo(f"rule {spec.rule!r} matches; it would submit:")
        click.echo(
            json.dumps(
                {
                    "script": spec.script,
                    "tier": spec.tier,
                    "queue": spec.queue,
                    "priority_class": spec.priority_class.value,
                    "broker_priority": spec.priority,
                    "namespace": spec.namespace,
                    "params": spec.params,
                    "sentry_issue_id": subject.issue_id,
                    **({"error": spec.render_error} if spec.render_error else {}),
                },
                indent=2,
            )
        )


# The operator commands (demo, jobs, pause/resume, rules enable) live in their own module.
from remediator import cli_ops  # noqa: E402,F401
