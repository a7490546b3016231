"""The `remediator` command group and what every command module shares."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from remediator import __version__
from remediator.errors import RemediatorError
from remediator.settings import Settings, following_running_up, load_settings


def settings_or_exit(follow_up: bool = True) -> Settings:
    """The settings, or a clear error naming the variable at fault. Operator commands
    (`follow_up`) find the `up` this user runs, from any directory; the processes `up`
    starts, and `up` itself, do not."""
    try:
        settings = load_settings()
    except RemediatorError as exc:
        raise click.ClickException(str(exc)) from None
    return following_running_up(settings) if follow_up else settings


def exec_process(argv: list[str]) -> NoReturn:
    """Replace this process with argv, so signals reach the real server directly."""
    click.echo("exec: " + " ".join(argv), err=True)
    sys.stdout.flush()
    os.execvp(argv[0], argv)


def checked_rules(settings: Settings, path: Path | None = None) -> Any:
    """The rule file, validated; its problems as a ClickException."""
    from remediator.live_rules import configured_rules

    try:
        return configured_rules(settings, path)
    except RemediatorError as exc:
        raise click.ClickException(str(exc)) from None


def check_limits(settings: Settings) -> None:
    """Refuse to start with a visibility timeout that would hand a running job out twice."""
    from remediator.worker.limits import visibility_timeout

    try:
        visibility_timeout(settings)
    except RemediatorError as exc:
        raise click.ClickException(str(exc)) from None


def job_store(settings: Settings | None = None) -> Any:
    """The job store on the configured broker."""
    from remediator.jobs import JobStore, redis_client

    settings = settings or settings_or_exit()
    try:
        return JobStore(redis_client(settings.effective_broker_url()), settings.job_retention_days)
    except RemediatorError as exc:
        raise click.ClickException(str(exc)) from None


def celery_app(settings: Settings) -> Any:
    """A Celery app on the configured broker (to queue jobs and events)."""
    from remediator.worker.celery_app import create_celery

    return create_celery(settings.effective_broker_url(), settings.sentinel_master)


def lifecycle(settings: Settings, celery: Any = None) -> Any:
    """The lifecycle (with this process's listeners) on the configured broker."""
    from remediator.listeners import build_lifecycle

    return build_lifecycle(
        settings, job_store(settings), celery or celery_app(settings), checked_rules(settings)
    )


def dispatcher(settings: Settings | None = None) -> Any:
    """The dispatcher operators' decisions go through, as the web process's do."""
    from remediator.dispatch import dispatcher_for

    settings = settings or settings_or_exit()
    celery = celery_app(settings)
    return dispatcher_for(settings, celery, lifecycle(settings, celery))


@click.group()
@click.version_option(__version__, prog_name="remediator")
def main() -> None:
    """remediator: Sentry alerts in, safe and verified remediation jobs out."""


def audited(action: str, by: str, target: str = "", outcome: str = "ok", **detail: Any) -> None:
    """Write a CLI action to the audit trail (source `cli`); a Redis error is said, not fatal."""
    import redis

    from remediator.audit.trail import AuditTrail

    settings = settings_or_exit()
    try:
        AuditTrail(job_store(settings).client, settings.audit_retention_days).record(
            action, by, target, outcome, "cli", "local", **detail
        )
    except redis.RedisError as exc:
        click.echo(f"(not written to the audit trail: {exc})", err=True)
