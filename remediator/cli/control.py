"""`remediator pause` and `remediator resume`: the global switch."""

from __future__ import annotations

import getpass

import click

from remediator.cli.base import audited, job_store, main, settings_or_exit
from remediator.cli.remote import BY_HELP, remote


@main.command()
@click.option("--by", default=getpass.getuser, show_default="your login name", help=BY_HELP)
@click.option("--reason", default="", help="Why.")
def pause(by: str, reason: str) -> None:
    """Pause remediation: from now on every match is recorded as held."""
    from remediator.jobs import controls

    api = remote(settings_or_exit())
    if api is not None:
        api.call("POST", "/api/pause", {"reason": reason})
    else:
        controls.pause(job_store().client, by, reason)
        audited("pause", by, reason=reason)
    click.echo("remediation paused: matches are held (remediator jobs list --status held)")


@main.command()
@click.option("--by", default=getpass.getuser, show_default="your login name", help=BY_HELP)
def resume(by: str) -> None:
    """Resume remediation (held jobs stay held until released or discarded)."""
    from remediator.jobs import controls

    api = remote(settings_or_exit())
    if api is not None:
        api.call("POST", "/api/resume")
        click.echo("remediation resumed (held jobs stay held: release or discard them)")
        return
    controls.resume(job_store().client, by)
    audited("resume", by)
    click.echo("remediation resumed")
