"""The `remediator` command group and what every command module shares."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from remediator import __version__
from remediator.errors import RemediatorError
from remediator.settings import Settings, load_settings


def settings_or_exit() -> Settings:
    """The settings, or a clear error naming the variable at fault."""
    try:
        return load_settings()
    except RemediatorError as exc:
        raise click.ClickException(str(exc)) from None


def exec_process(argv: list[str]) -> NoReturn:
    """Replace this process with argv, so signals reach the real server directly."""
    click.echo("exec: " + " ".join(argv), err=True)
    sys.stdout.flush()
    os.execvp(argv[0], argv)


def checked_rules(settings: Settings, path: Path | None = None) -> Any:
    """The rule file, validated; its problems as a ClickException."""
    from remediator.remediation_scripts import registry
    from remediator.rules import load_rules

    try:
        return load_rules(path or settings.rules_file, scripts=registry(), tiers=settings.tiers)
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


@click.group()
@click.version_option(__version__, prog_name="remediator")
def main() -> None:
    """remediator: Sentry alerts in, safe and verified remediation jobs out."""
