"""`remediator jobs ...`: inspect job records and decide on waiting ones."""

from __future__ import annotations

import getpass
import json
import shutil
from datetime import UTC, datetime

import click

from remediator.cli.base import audited, dispatcher, job_store, main, settings_or_exit
from remediator.cli.remote import BY_HELP, remote
from remediator.errors import RemediatorError
from remediator.jobs import JobStatus
from remediator.remediation_scripts import public_job as public


@main.group()
def jobs() -> None:
    """Inspect job records."""


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S")


@jobs.command("list")
@click.option(
    "--status",
    type=click.Choice([s.value for s in JobStatus]),
    help="Only jobs in this status.",
)
@click.option("--tier", help="Only jobs of this tier.")
@click.option("--rule", help="Only jobs of this rule.")
@click.option("--limit", default=20, show_default=True, help="How many, newest first.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
def jobs_list(status: str | None, tier: str | None, rule: str | None, limit: int, as_json: bool) -> None:
    """Newest jobs first."""
    import redis

    try:
        found = job_store().list(status=status, tier=tier, rule=rule, limit=limit)
    except redis.RedisError as exc:
        raise click.ClickException(f"cannot reach the job store: {exc}") from None
    if as_json:
        for job in found:
            click.echo(json.dumps(public(job)))
        return
    width = shutil.get_terminal_size((120, 20)).columns
    click.echo(f"{'ID':32}  {'STATUS':17} {'TIER':8} {'CLASS':5} {'CREATED (UTC)':19}  RULE/SCRIPT")
    for job in found:
        line = (
            f"{job.id:32}  {job.status.value:17} {job.tier:8} {job.priority_class.value:5} "
            f"{_when(job.created_at):19}  {job.rule}/{job.script}"
        )
        click.echo(line[:width])


def _decide(action: str, job_id: str, by: str, *extra: str) -> None:
    import redis

    api = remote(settings_or_exit())
    if api is not None:
        answer = api.call("POST", f"/api/jobs/{job_id}/{action}", {"reason": extra[0]} if extra else {})
        click.echo(f"job {answer['id']}: {answer['status']} ({answer.get('reason')})")
        return

    try:
        job = getattr(dispatcher(), action)(job_id, by, *extra)
    except (RemediatorError, redis.RedisError) as exc:
        audited(action, by, job_id, f"refused: {exc}")
        raise click.ClickException(str(exc)) from None
    audited(action, by, job_id, reason=extra[0] if extra else None)
    click.echo(f"job {job.id}: {job.status.value} ({job.reason})")


@jobs.command("approve")
@click.argument("job_id")
@click.option("--by", default=getpass.getuser, show_default="your login name", help=BY_HELP)
def jobs_approve(job_id: str, by: str) -> None:
    """Approve a job waiting for approval: it is queued."""
    _decide("approve", job_id, by)


@jobs.command("reject")
@click.argument("job_id")
@click.option("--by", default=getpass.getuser, show_default="your login name", help=BY_HELP)
@click.option("--reason", default="", help="Why.")
def jobs_reject(job_id: str, by: str, reason: str) -> None:
    """Reject a job waiting for approval: it never runs."""
    _decide("reject", job_id, by, reason)


@jobs.command("release")
@click.argument("job_id")
@click.option("--by", default=getpass.getuser, show_default="your login name", help=BY_HELP)
def jobs_release(job_id: str, by: str) -> None:
    """Queue a job held while remediation was paused."""
    _decide("release", job_id, by)


@jobs.command("discard")
@click.argument("job_id")
@click.option("--by", default=getpass.getuser, show_default="your login name", help=BY_HELP)
def jobs_discard(job_id: str, by: str) -> None:
    """Drop a job held while remediation was paused."""
    _decide("discard", job_id, by)


@jobs.command("show")
@click.argument("job_id")
def jobs_show(job_id: str) -> None:
    """One job record, as JSON."""
    import redis

    try:
        job = job_store().get(job_id)
    except redis.RedisError as exc:
        raise click.ClickException(f"cannot reach the job store: {exc}") from None
    if job is None:
        raise click.ClickException(f"no job {job_id}")
    click.echo(json.dumps(public(job), indent=2))
