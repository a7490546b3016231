"""`remediator notify ...`: the notification channels of the rule file."""

from __future__ import annotations

import click

from remediator.cli.base import checked_rules, main, settings_or_exit


@main.group()
def notify() -> None:
    """The rule file's notification channels and routes."""


@notify.command("test")
@click.argument("channel")
def notify_test(channel: str) -> None:
    """Send a test message to CHANNEL now and say what it answered."""
    from remediator.errors import NotificationFailed
    from remediator.notify.channels import send
    from remediator.notify.message import test_message

    settings = settings_or_exit()
    rules = checked_rules(settings)
    config = rules.notify.usable.get(channel)
    if config is None:
        why = rules.notify.disabled.get(channel)
        known = ", ".join(sorted(rules.notify.usable)) or "(none)"
        raise click.ClickException(
            f"channel {channel!r} is disabled: {why}" if why else f"no channel {channel!r}; usable: {known}"
        )
    try:
        answer = send(config, test_message(channel, settings), settings)
    except NotificationFailed as exc:
        again = " (a later attempt may pass)" if exc.retry else ""
        raise click.ClickException(f"{channel} ({config.type}) did not take it: {exc}{again}") from None
    click.echo(f"{channel} ({config.type}): {answer}")


@notify.command("channels")
def notify_channels() -> None:
    """List the channels, the disabled ones with why, and the routes."""
    rules = checked_rules(settings_or_exit())
    section = rules.notify
    for name, config in section.usable.items():
        click.echo(f"{name}: {config.type}")
    for name, why in section.disabled.items():
        click.echo(f"{name}: disabled ({why})")
    for index, route in enumerate(section.routes):
        when = route.when.model_dump(mode="json", exclude_none=True, by_alias=True)
        said = "; ".join(
            f"{key} {', '.join(map(str, value)) if isinstance(value, list | tuple) else value}"
            for key, value in when.items()
        )
        window = section.window(route)
        click.echo(
            f"route #{index + 1}: {said or 'every event'} -> {', '.join(route.to)} (digest {window:g} s)"
        )
