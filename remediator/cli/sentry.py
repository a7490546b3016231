"""`remediator sentry setup`: the Sentry side (monitors, dashboard, alert rules) from one command."""

from __future__ import annotations

import click

from remediator.cli.base import main, settings_or_exit
from remediator.settings import Settings


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
    from remediator.sentry.setup import SentrySetup, project_of

    settings = settings_or_exit()
    api = api_for(settings)
    if api is None:
        raise click.ClickException(
            "set REMEDIATOR_SENTRY_AUTH_TOKEN and REMEDIATOR_SENTRY_ORG (scopes: org:write)"
        )
    # What would stop it half-way is said before anything is planned or printed.
    if not (project or project_of(settings.sentry_dsn)):
        raise click.ClickException(
            "the cron monitors belong to remediator's own project: set SENTRY_DSN or pass --project"
        )
    if alert_projects and not settings.sentry_app_id:
        raise click.ClickException(
            "--alert-rules targets this integration: set REMEDIATOR_SENTRY_APP_ID (its uuid)"
        )
    _reachable(settings)
    if dry_run:
        click.echo("dry run: nothing is changed")
    try:
        changes = SentrySetup(api, settings, dry_run=dry_run, echo=click.echo).run(project, alert_projects)
    except RemediatorError as exc:
        raise click.ClickException(str(exc)) from None
    changed = [c for c in changes if c.action != "unchanged"]
    click.echo(f"{len(changed)} of {len(changes)} " + ("would change" if dry_run else "changed"))


def _reachable(settings: Settings) -> None:
    """One quick question (the organization), so an unreachable Sentry, a refused token or
    a wrong organization is said at once instead of after the client's retries."""
    from remediator.sentry.api import SentryApi, SentryApiError

    url, org = settings.sentry_api_url, settings.sentry_org or ""
    probe = SentryApi(url, settings.sentry_auth_token or "", org, timeout=(3.05, 10.0), max_retries=0)
    try:
        probe.request("GET", f"/organizations/{org}/")
    except SentryApiError as exc:
        if exc.status is None:
            reason = str(exc).split(": ", 1)[-1]
            raise click.ClickException(
                f"Sentry at {url} does not answer ({reason[:200]}): check REMEDIATOR_SENTRY_API_URL"
            ) from None
        if exc.status in (401, 403):
            raise click.ClickException(
                f"Sentry refuses the token ({exc.status}): check REMEDIATOR_SENTRY_AUTH_TOKEN and its scopes"
            ) from None
        if exc.status == 404:
            raise click.ClickException(
                f"Sentry has no organization {org!r}: check REMEDIATOR_SENTRY_ORG"
            ) from None
        raise click.ClickException(str(exc)) from None
