"""`remediator demo ...`: play Sentry against `remediator up --demo`."""

from __future__ import annotations

import json
import time

import click

from remediator.cli.base import main, settings_or_exit
from remediator.errors import RemediatorError


@main.group()
def demo() -> None:
    """Play Sentry against `remediator up --demo`."""


@demo.command("send")
@click.option(
    "--issue-id",
    default=lambda: str(int(time.time()) % 10**9),
    show_default="time-based",
    help="The Sentry issue's id (send the same id again to see a duplicate).",
)
@click.option(
    "--title",
    default="OperationalError: connection pool exhausted",
    show_default=True,
    help="The issue's title.",
)
@click.option(
    "--culprit",
    default="app.database.pool in acquire",
    show_default=True,
    help="The issue's culprit (the demo rule restarts the pool when it names the database).",
)
@click.option("--url", help="The web process (default: where `remediator up` serves it).")
def demo_send(issue_id: str, title: str, culprit: str, url: str | None) -> None:
    """Create an issue in the stand-in and deliver its signed issue.created webhook."""
    from remediator.local.demo import send
    from remediator.local.up import resolve_secrets

    settings = settings_or_exit()
    env, _ = resolve_secrets(settings)
    try:
        status, body = send(settings, env["REMEDIATOR_SENTRY_CLIENT_SECRET"], issue_id, title, culprit, url)
    except (RemediatorError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"issue {issue_id}: webhook answered {status} {json.dumps(body)}")
    for job in body.get("jobs", []):
        click.echo(f"  watch it: remediator jobs show {job['id']}")


@demo.command("event")
@click.argument("issue_id")
def demo_event(issue_id: str) -> None:
    """Record one more event on a stand-in issue (so its fix turns out ineffective)."""
    from remediator.local.demo import new_event

    try:
        new_event(settings_or_exit(), issue_id)
    except (RemediatorError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"issue {issue_id}: one more event")
