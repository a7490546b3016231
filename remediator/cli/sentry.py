"""`remediator sentry setup`: the Sentry side (monitors, dashboard, alert rules) from one command."""

from __future__ import annotations

import click

from remediator.cli.base import main, settings_or_exit


@main.group()
def sentry() -> None:
    """Sentry's side of remediator."""


@sentry.command("setup")
@click.option("--dry-run", is_flag=True, help="Say what would change; change nothing.")
@click.option("--project", help="Project of the cron monitors (default: the one of SENTRY_DSN).")
@click.option(
    "--alert-rules",
    "alert_projects",
    multiple=True,
    metavar="PROJECT",
    help="Also add an issue alert rule sending issues to this integration in PROJECT (repeatable).",
)
def setup(dry_run: bool, project: str | None, alert_projects: tuple[str, ...]) -> None:
    """Create or update the tiers' cron monitors, the Batch System Health dashboard and,
    with --alert-rules, issue alert rules; a second run changes nothing."""
    from remediator.errors import RemediatorError
    from remediator.sentry.api import api_for
    from remediator.sentry.setup import SentrySetup

    settings = settings_or_exit()
    api = api_for(settings)
    if api is None:
        raise click.ClickException(
            "set REMEDIATOR_SENTRY_AUTH_TOKEN and REMEDIATOR_SENTRY_ORG (scopes: org:write)"
        )
    if dry_run:
        click.echo("dry run: nothing is changed")
    try:
        changes = SentrySetup(api, settings, dry_run=dry_run, echo=click.echo).run(project, alert_projects)
    except RemediatorError as exc:
        raise click.ClickException(str(exc)) from None
    changed = [c for c in changes if c.action != "unchanged"]
    click.echo(f"{len(changed)} of {len(changes)} " + ("would change" if dry_run else "changed"))
