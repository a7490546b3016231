"""The `remediator` command."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from datetime import UTC, datetime
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


@main.group()
def demo() -> None:
    """Play Sentry against `remediator up --demo`."""


@demo.command("send")
@click.option("--issue-id", default=lambda: str(int(time.time()) % 10**9), show_default="time-based")
@click.option("--title", default="OperationalError: connection pool exhausted", show_default=True)
@click.option("--culprit", default="app.database.pool in acquire", show_default=True)
def demo_send(issue_id: str, title: str, culprit: str) -> None:
    """Create an issue in the stand-in and deliver its signed issue.created webhook."""
    from remediator.demo import send
    from remediator.up import resolve_secrets

    settings = _settings()
    env, _ = resolve_secrets(settings)
    try:
        status, body = send(settings, env["REMEDIATOR_SENTRY_CLIENT_SECRET"], issue_id, title, culprit)
    except (RemediatorError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"issue {issue_id}: webhook answered {status} {json.dumps(body)}")
    for job in body.get("jobs", []):
        click.echo(f"  watch it: remediator jobs show {job['id']}")


@demo.command("event")
@click.argument("issue_id")
def demo_event(issue_id: str) -> None:
    """Record one more event on a stand-in issue (so its fix turns out ineffective)."""
    from remediator.demo import new_event

    try:
        new_event(_settings(), issue_id)
    except (RemediatorError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"issue {issue_id}: one more event")


@main.group()
def jobs() -> None:
    """Inspect job records."""


def _store() -> Any:
    from remediator.jobs import JobStore, redis_client

    settings = _settings()
    try:
        return JobStore(redis_client(settings.effective_broker_url()), settings.job_retention_days)
    except RemediatorError as exc:
        raise click.ClickException(str(exc)) from None


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S")


@jobs.command("list")
@click.option("--status")
@click.option("--tier")
@click.option("--rule")
@click.option("--limit", default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
def jobs_list(status: str | None, tier: str | None, rule: str | None, limit: int, as_json: bool) -> None:
    """Newest jobs first."""
    import redis

    try:
        found = _store().list(status=status, tier=tier, rule=rule, limit=limit)
    except redis.RedisError as exc:
        raise click.ClickException(f"cannot reach the job store: {exc}") from None
    if as_json:
        for job in found:
            click.echo(job.model_dump_json())
        return
    width = shutil.get_terminal_size((120, 20)).columns
    click.echo(f"{'ID':32}  {'STATUS':10} {'TIER':8} {'CLASS':5} {'CREATED (UTC)':19}  RULE/SCRIPT")
    for job in found:
        line = (
            f"{job.id:32}  {job.status.value:10} {job.tier:8} {job.priority_class.value:5} "
            f"{_when(job.created_at):19}  {job.rule}/{job.script}"
        )
        click.echo(line[:width])


def _dispatcher() -> Any:
    from remediator.celery_app import create_celery
    from remediator.dispatch import dispatcher_for

    settings = _settings()
    store = _store()
    return dispatcher_for(settings, create_celery(settings.effective_broker_url()), store)


def _decide(action: str, job_id: str, by: str, *extra: str) -> None:
    import redis

    try:
        job = getattr(_dispatcher(), action)(job_id, by, *extra)
    except (RemediatorError, redis.RedisError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"job {job.id}: {job.status.value} ({job.reason})")


@jobs.command("approve")
@click.argument("job_id")
@click.option("--by", required=True, help="Who approves (recorded on the job).")
def jobs_approve(job_id: str, by: str) -> None:
    """Approve a job waiting for approval: it is queued."""
    _decide("approve", job_id, by)


@jobs.command("reject")
@click.argument("job_id")
@click.option("--by", required=True, help="Who rejects (recorded on the job).")
@click.option("--reason", default="", help="Why.")
def jobs_reject(job_id: str, by: str, reason: str) -> None:
    """Reject a job waiting for approval: it never runs."""
    _decide("reject", job_id, by, reason)


@jobs.command("release")
@click.argument("job_id")
@click.option("--by", required=True)
def jobs_release(job_id: str, by: str) -> None:
    """Queue a job held while remediation was paused."""
    _decide("release", job_id, by)


@jobs.command("discard")
@click.argument("job_id")
@click.option("--by", required=True)
def jobs_discard(job_id: str, by: str) -> None:
    """Drop a job held while remediation was paused."""
    _decide("discard", job_id, by)


@main.command()
@click.option("--by", required=True, help="Who pauses.")
@click.option("--reason", default="", help="Why.")
def pause(by: str, reason: str) -> None:
    """Pause remediation: from now on every match is recorded as held."""
    from remediator import controls

    controls.pause(_store().client, f"paused by {by}" + (f": {reason}" if reason else ""))
    click.echo("remediation paused: matches are held (remediator jobs list --status held)")


@main.command()
def resume() -> None:
    """Resume remediation (held jobs stay held until released or discarded)."""
    from remediator import controls

    controls.resume(_store().client)
    click.echo("remediation resumed")


@rules.command("enable")
@click.argument("name")
def rules_enable(name: str) -> None:
    """Close a rule's circuit breaker after fixing what kept failing."""
    from remediator import controls

    was_open = controls.enable_rule(_store().client, name)
    click.echo(f"rule {name!r} enabled" + ("" if was_open else " (it was not disabled)"))


@jobs.command("show")
@click.argument("job_id")
def jobs_show(job_id: str) -> None:
    """One job record, as JSON."""
    import redis

    try:
        job = _store().get(job_id)
    except redis.RedisError as exc:
        raise click.ClickException(f"cannot reach the job store: {exc}") from None
    if job is None:
        raise click.ClickException(f"no job {job_id}")
    click.echo(json.dumps(job.model_dump(mode="json"), indent=2))
