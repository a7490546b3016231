"""`remediator audit` and `remediator audit verify`: reading the audit trail, and proving it
whole."""

from __future__ import annotations

import json
import time
from typing import Any

import click

from remediator.cli.base import job_store, main, settings_or_exit


def _trail() -> Any:
    from remediator.audit.trail import AuditTrail

    settings = settings_or_exit()
    return AuditTrail(job_store(settings).client, settings.audit_retention_days)


@main.group(invoke_without_command=True)
@click.option("--since", help="Only entries of the last 30m, 12h, 14d.")
@click.option("--actor", help="Only this actor's entries.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def audit(ctx: click.Context, since: str | None, actor: str | None, as_json: bool) -> None:
    """Who did what, oldest first: operator actions, sign-ins and failed ones, from the console,
    the API and this CLI."""
    if ctx.invoked_subcommand is not None:
        return
    from remediator.durations import parse_duration

    try:
        start = time.time() - parse_duration(since) if since else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    entries = _trail().entries(since=start, actor=actor)
    if as_json:
        click.echo(json.dumps(entries, indent=2))
        return
    for e in entries:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(float(e.get("at", 0))))
        who, what, target = e.get("actor", "?"), e.get("action", "?"), str(e.get("target", ""))
        line = f"{when}  {who:16} {what:14} {target:34} {e.get('outcome', '')}"
        source = f"  from {e['source']}" if e.get("source") else ""
        click.echo(line.rstrip() + source)
    if not entries:
        click.echo("no audit entries" + (" match" if since or actor else " yet"))


@audit.command("verify")
def audit_verify() -> None:
    """Check that every entry links to the one before it (a deleted or edited entry breaks
    the chain); exits 1 naming the first entry where it breaks."""
    checked, problem = _trail().verify()
    if problem:
        click.echo(f"the audit trail is broken after checking {checked} entries: {problem}", err=True)
        raise SystemExit(1)
    click.echo(f"the audit trail is whole: {checked} entries, each linked to the one before it")
