"""`remediator rules ...`: validate, try out and re-enable rules."""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path
from typing import Any

import click

from remediator.cli.base import audited, checked_rules, job_store, lifecycle, main, settings_or_exit
from remediator.cli.remote import BY_HELP, remote
from remediator.errors import RemediatorError


@main.group()
def rules() -> None:
    """Validate and try out rule files."""


@rules.command("check")
@click.argument("file", required=False, type=click.Path(path_type=Path))
def rules_check(file: Path | None) -> None:
    """Validate FILE (default: REMEDIATOR_RULES_FILE)."""
    settings = settings_or_exit()
    ruleset = checked_rules(settings, file)
    count = len(ruleset.rules)
    click.echo(f"{file or settings.rules_file}: {count} rule{'' if count == 1 else 's'} OK")
    for note in ruleset.notes:
        click.echo(f"  note: {note}")
    from remediator.rules.warnings import rule_warnings

    for warning in rule_warnings(ruleset, bool(settings.sentry_auth_token and settings.sentry_org)):
        click.echo(f"  warning: {warning}")
    for rule in ruleset.rules:
        job = rule.job
        click.echo(
            f"  {rule.name}: {job.script} on {job.tier}, class {job.class_text}, "
            f"namespace {job.namespace}" + ("" if rule.enabled else " (disabled)")
        )


def _guess_resource(document: Any) -> str:
    from remediator.backtest.history import resource_of

    try:
        resource = resource_of(document)
    except RemediatorError:
        resource = ""
    if resource in ("", "comment", "installation"):
        raise click.ClickException("cannot tell the resource from the payload; pass --resource")
    return resource


@rules.command("test")
@click.argument("payload", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--resource", help="Sentry-Hook-Resource (guessed from the payload if omitted).")
@click.option(
    "--rules-file",
    "rules_file",
    type=click.Path(path_type=Path),
    help="Rule file (default: REMEDIATOR_RULES_FILE).",
)
@click.option(
    "--set",
    "given",
    multiple=True,
    metavar="FIELD=VALUE",
    help="Fill a field the body lacks, as a lookup in Sentry would (environment=production, "
    "project=shop, tags.feature=checkout); repeatable.",
)
def rules_test(payload: Path, resource: str | None, rules_file: Path | None, given: tuple[str, ...]) -> None:
    """Show which rule matches PAYLOAD and the exact job it would submit (submits nothing).
    What the body lacks and a rule needs is looked up in Sentry when its API is configured
    (as the web does), else named, with --set to try it."""
    from remediator.payloads import MODELS, decode_json, parse_webhook, subject_of
    from remediator.rules import lookups, plan

    settings = settings_or_exit()
    ruleset = checked_rules(settings, rules_file)
    try:
        document = decode_json(payload.read_bytes())
        resource = resource or _guess_resource(document)
        if resource not in MODELS:
            raise click.ClickException(f"resource {resource!r} is never matched by rules")
        subject = _with_given(subject_of(resource, parse_webhook(resource, document)), given)
    except RemediatorError as exc:
        raise click.ClickException(str(exc)) from None
    needs = lookups(ruleset, subject)
    if needs:
        subject = _looked_up(settings, subject, needs)
    specs = plan(ruleset, subject)
    if not specs:
        click.echo(f"no rule matches this {resource}.{subject.action}: nothing would run")
        sys.exit(1)
    for spec in specs:
        click.echo(f"rule {spec.rule!r} matches: {_decision(settings, spec, subject)}; the job:")
        click.echo(
            json.dumps(
                {
                    "script": spec.script,
                    "tier": spec.tier,
                    "queue": spec.queue,
                    "priority_class": spec.priority_class.value,
                    "broker_priority": spec.priority,
                    "namespace": spec.namespace,
                    "params": spec.params,
                    "sentry_issue_id": subject.issue_id,
                    **({"error": spec.render_error} if spec.render_error else {}),
                },
                indent=2,
            )
        )


def _with_given(subject: Any, given: tuple[str, ...]) -> Any:
    """The subject with the --set fields filled (templates see them too)."""
    import dataclasses

    from remediator.payloads.fields import TEXT_FIELDS

    changes: dict[str, Any] = {}
    tags = dict(subject.tags)
    for item in given:
        name, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r}: write FIELD=VALUE", param_hint="--set")
        if name.startswith("tags."):
            tags[name.removeprefix("tags.")] = value
        elif name in TEXT_FIELDS:
            changes[name] = value
        else:
            known = ", ".join((*TEXT_FIELDS, "tags.<key>"))
            raise click.BadParameter(f"unknown field {name!r}; known: {known}", param_hint="--set")
    if tags != subject.tags:
        changes["tags"] = tags
    if not changes:
        return subject
    return dataclasses.replace(subject, **changes, context={**subject.context, **changes})


def _looked_up(settings: Any, subject: Any, needs: Any) -> Any:
    """What the web would look up, asked of Sentry when its API is configured; said otherwise."""
    from remediator.sentry.lookups import webhook_lookups

    wanted = ", ".join(sorted(needs.fields | ({"the release's deploy"} if needs.deploy else set())))
    found = webhook_lookups(settings, patient=True)
    if found is None:
        if wanted:
            click.echo(
                f"note: a rule needs {wanted}, which this {subject.resource} body lacks and the web looks "
                "up in Sentry (not configured here: REMEDIATOR_SENTRY_AUTH_TOKEN and _ORG); "
                "try it with --set FIELD=VALUE"
            )
        return subject
    subject, unanswered = found.enrich(subject, needs)
    click.echo(
        f"looked up in Sentry: {wanted or 'the damage'}"
        + (f" (not answered: {unanswered})" if unanswered else "")
    )
    return subject


def _decision(settings: Any, spec: Any, subject: Any) -> str:
    """What would happen to the job: the rule's own settings, then the gate's live limits
    (pause, breaker, once_within, coalescing, max_runs, tier cap) when the store answers."""
    import redis

    from remediator.jobs.gate import Gate
    from remediator.jobs.model import JobStatus
    from remediator.remediation_scripts import get_script

    if spec.render_error:
        return f"it would be recorded failed and never run ({spec.render_error})"
    try:
        get_script(spec.script).Params.model_validate(spec.params)
    except ValueError as exc:
        return f"it would be recorded failed and never run (invalid params: {exc})"
    if spec.dry_run or settings.dry_run:
        then = "a dry run: recorded, nothing runs"
    elif spec.approval:
        then = "it would wait for a person's approval, then be queued"
    else:
        then = f"it would be queued on {spec.queue} at class {spec.priority_class.value}"
    try:
        client = job_store(settings).client
        verdict = Gate(client, settings.tier_max_runs).preview(spec, subject)
    except click.ClickException as exc:  # no broker configured and no `up` running here
        return f"{then} (limits not checked: {exc.message})"
    except (RemediatorError, redis.RedisError) as exc:
        return f"{then} (limits not checked: the job store is unreachable: {exc})"
    if verdict.status == JobStatus.QUEUED:
        return f"{then}; no limit stands in the way right now"
    return f"the gate would record it {verdict.status.value} right now: {verdict.reason}"


@rules.command("enable")
@click.argument("name")
@click.option("--by", default=getpass.getuser, show_default="your login name", help=BY_HELP)
def rules_enable(name: str, by: str) -> None:
    """Close a rule's circuit breaker after fixing what kept failing."""
    import redis

    from remediator.dispatch import reenable_rule

    settings = settings_or_exit()
    api = remote(settings)
    if api is not None:
        answer = api.call("POST", f"/api/rules/{name}/enable")
        click.echo(f"rule {name!r} " + ("re-enabled" if answer["was_disabled"] else "was not disabled"))
        return
    ruleset = checked_rules(settings)
    try:
        was_open = reenable_rule(ruleset, lifecycle(settings), name, by)
    except (RemediatorError, redis.RedisError) as exc:
        audited("enable rule", by, name, f"refused: {exc}")
        raise click.ClickException(str(exc)) from None
    audited("enable rule", by, name)
    state = (
        "enabled" if ruleset.get(name).enabled else "breaker closed, but `enabled: false` in the rule file"
    )
    click.echo(f"rule {name!r} {state}" + ("" if was_open else " (its breaker was not open)"))


@rules.command("promote")
@click.argument("name")
@click.option("--by", default=getpass.getuser, show_default="your login name", help=BY_HELP)
def rules_promote(name: str, by: str) -> None:
    """Promote a canary rule: its production jobs run from now on (instead of dry-running)."""
    import redis

    from remediator.dispatch import promote_rule

    settings = settings_or_exit()
    api = remote(settings)
    if api is not None:
        answer = api.call("POST", f"/api/rules/{name}/promote")
        click.echo(f"rule {name!r} promoted by {answer['by']}")
        return
    ruleset = checked_rules(settings)
    try:
        before = promote_rule(ruleset, lifecycle(settings), name, by)
    except (RemediatorError, redis.RedisError) as exc:
        audited("promote rule", by, name, f"refused: {exc}")
        raise click.ClickException(str(exc)) from None
    audited("promote rule", by, name)
    click.echo(
        f"rule {name!r} promoted by {by}" if before != "promoted" else f"rule {name!r} was already promoted"
    )
