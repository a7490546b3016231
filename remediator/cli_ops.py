"""Operator commands of `remediator`: inspecting and deciding on jobs, pausing, the demo."""

from __future__ import annotations

import json
import shutil
import time
from datetime import UTC, datetime
from typing import Any

import click

from remediator.cli import _settings, main, rules
from remediator.errors import RemediatorError


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
