"""`remediator users ...`: the people who may use remediator and their roles. With
REMEDIATOR_URL set, through the API as the admin REMEDIATOR_TOKEN belongs to (the bootstrap
token works: use it to add the first people, then rotate it away); otherwise on Redis
directly, as the machine's operator. Every change is an audit entry."""

from __future__ import annotations

import getpass
import json
import time
from typing import Any

import click

from remediator.cli.base import audited, job_store, main, settings_or_exit
from remediator.cli.remote import BY_HELP, Remote, remote
from remediator.errors import RemediatorError

ROLES = click.Choice(["viewer", "operator", "approver", "admin"])


@main.group()
def users() -> None:
    """People and roles: viewer reads; operator also pauses, resumes, releases, discards and
    re-enables rules; approver also approves and rejects; admin also manages people and
    promotes and reloads rules."""


def _where() -> tuple[Remote | None, Any]:
    settings = settings_or_exit()
    api = remote(settings)
    if api is not None:
        return api, None
    from remediator.people.directory import Directory

    return None, Directory(job_store(settings).client)


def _local(action: str, by: str, target: str, change: Any, **detail: Any) -> Any:
    try:
        done = change()
    except RemediatorError as exc:
        audited(action, by, target, f"refused: {exc}", **detail)
        raise click.ClickException(str(exc)) from None
    audited(action, by, target, **detail)
    return done


def _show_token(name: str, token: str) -> None:
    click.echo(f"{name}'s token (shown this once; remediator keeps only its hash):")
    click.echo(token)


@users.command("add")
@click.argument("name")
@click.option("--role", type=ROLES, required=True, help="What they may do.")
@click.option("--by", default=getpass.getuser, show_default="your login name", help=BY_HELP)
def users_add(name: str, role: str, by: str) -> None:
    """Add a person and issue their first personal token."""
    from remediator.people.roles import Role

    api, directory = _where()
    if api is not None:
        answer = api.call("POST", "/api/users", {"name": name, "role": role})
        _show_token(name, answer["token"])
        return
    _, token = _local(
        "add person", by, name, lambda: directory.add(name, Role.parse(role), by), new_role=role
    )
    _show_token(name, token)


@users.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def users_list(as_json: bool) -> None:
    """Everyone, with their role and their token's creation and last use."""
    api, directory = _where()
    people = api.call("GET", "/api/users")["users"] if api is not None else directory.people()
    for person in people:
        person.pop("token_id", None)
    if as_json:
        click.echo(json.dumps(people, indent=2))
        return
    for p in people:
        used = p.get("token_last_used")
        last = time.strftime("%Y-%m-%d %H:%M", time.gmtime(used)) if used else "never"
        state = "disabled" if p.get("disabled") else "active"
        click.echo(f"{p['name']:24} {p['role']:9} {state:9} token last used {last}")
    if not people:
        click.echo("nobody yet: remediator users add NAME --role ROLE")


@users.command("set-role")
@click.argument("name")
@click.argument("role", type=ROLES)
@click.option("--by", default=getpass.getuser, show_default="your login name", help=BY_HELP)
def users_set_role(name: str, role: str, by: str) -> None:
    """Change a person's role (it applies at their next request)."""
    from remediator.people.roles import Role

    api, directory = _where()
    if api is not None:
        api.call("POST", f"/api/users/{name}/role", {"role": role})
    else:
        _local("set role", by, name, lambda: directory.set_role(name, Role.parse(role)), new_role=role)
    click.echo(f"{name} is now {role}")


@users.command("disable")
@click.argument("name")
@click.option("--by", default=getpass.getuser, show_default="your login name", help=BY_HELP)
def users_disable(name: str, by: str) -> None:
    """Disable a person: their token and console sessions stop working at once."""
    api, directory = _where()
    if api is not None:
        api.call("POST", f"/api/users/{name}/disable")
    else:
        _local("disable person", by, name, lambda: directory.disable(name))
    click.echo(f"{name} is disabled")


@users.command("token")
@click.argument("name")
@click.option("--by", default=getpass.getuser, show_default="your login name", help=BY_HELP)
def users_token(name: str, by: str) -> None:
    """Issue a new personal token for NAME (their old one stops working)."""
    api, directory = _where()
    if api is not None:
        token = api.call("POST", f"/api/users/{name}/token")["token"]
    else:
        token = _local("issue token", by, name, lambda: directory.issue_token(name))
    _show_token(name, token)
