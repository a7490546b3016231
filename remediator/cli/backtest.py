"""`remediator rules backtest` and `rules diff`: what rule files would have done with past
issues, simulated (nothing is queued, the live Redis is not touched)."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import click

from remediator.cli.base import checked_rules, settings_or_exit
from remediator.cli.rules import rules
from remediator.errors import RemediatorError

RULES_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def _history(settings: Any, since: str, projects: tuple[str, ...], payloads: Path | None) -> list[Any]:
    """The deliveries to replay: saved payloads, else Sentry's issues of the period."""
    from remediator.backtest import from_directory, from_sentry, in_window, stats_period
    from remediator.durations import parse_duration
    from remediator.sentry.api import SentryApiError, api_for

    try:
        window = parse_duration(since)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    try:
        if payloads is not None:
            skipped: list[str] = []
            found = from_directory(payloads, skipped)
            deliveries = list(in_window(found, time.time() - window))
            kinds = Counter(entry.rsplit(" (", 1)[-1].rstrip(")") for entry in skipped)
            counted = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
            click.echo(
                f"{len(deliveries)} saved deliver{'y' if len(deliveries) == 1 else 'ies'} from {payloads} "
                "in the window" + (f" ({len(skipped)} skipped, not acted on: {counted})" if skipped else ""),
                err=True,
            )
            return deliveries
        api = api_for(settings)
        if api is None:
            raise click.ClickException(
                "reading Sentry's history needs REMEDIATOR_SENTRY_AUTH_TOKEN and REMEDIATOR_SENTRY_ORG "
                "(or replay saved webhooks with --payloads DIR)"
            )

        def progress(pages: int, issues: int) -> None:
            click.echo(f"\rreading Sentry's issues: page {pages}, {issues} issues", nl=False, err=True)

        deliveries = from_sentry(api, stats_period(window), list(projects), progress)
        click.echo("", err=True)
        return deliveries
    except (RemediatorError, SentryApiError) as exc:
        raise click.ClickException(str(exc)) from None


def _replay(settings: Any, rules_file: Path | None, deliveries: list[Any]) -> tuple[Any, list[Any]]:
    from remediator.backtest import simulate

    ruleset = checked_rules(settings, rules_file)
    decisions = simulate(
        ruleset,
        deliveries,
        settings.tier_max_runs,
        dry_run=settings.dry_run,
        approval_ttl=settings.approval_ttl_seconds,
    )
    return ruleset, decisions


_since = click.option("--since", default="14d", show_default=True, help="How far back: 30m, 12h, 14d.")
_project = click.option(
    "--project", "projects", multiple=True, help="Only this project (slug or id); repeatable."
)
_payloads = click.option(
    "--payloads",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Replay saved webhook bodies (*.json) from DIR instead of asking Sentry.",
)
_json = click.option("--json", "as_json", is_flag=True, help="Print JSON (for CI).")


@rules.command("backtest")
@click.option(
    "--rules-file", "rules_file", type=RULES_FILE, help="Rule file (default: REMEDIATOR_RULES_FILE)."
)
@_since
@_project
@_payloads
@_json
def rules_backtest(
    rules_file: Path | None, since: str, projects: tuple[str, ...], payloads: Path | None, as_json: bool
) -> None:
    """What the rules would have done with the issues of the last --since: per rule, the
    matches and how many would have run, waited for approval, been throttled or coalesced,
    the issues they would have touched; and the issues no rule matched, largest first."""
    from remediator.backtest import render, summarise

    settings = settings_or_exit()
    deliveries = _history(settings, since, projects, payloads)
    ruleset, decisions = _replay(settings, rules_file, deliveries)
    summary = summarise(decisions, [rule.name for rule in ruleset.rules])
    text = render(summary)
    if any(rule.settle is not None for rule in ruleset.rules):
        summary["settling"], lines = _settling(settings, ruleset, decisions)
        text += "\n\nWhat settling would have saved:\n" + "\n".join(f"  {line}" for line in lines)
    click.echo(json.dumps(summary, indent=2) if as_json else text)


@rules.command("diff")
@click.argument("old", type=RULES_FILE)
@click.argument("new", type=RULES_FILE)
@_since
@_project
@_payloads
@_json
def rules_diff(
    old: Path, new: Path, since: str, projects: tuple[str, ...], payloads: Path | None, as_json: bool
) -> None:
    """The same history through OLD and NEW rule files: which issues would be handled
    differently, and how."""
    from remediator.backtest import difference, render_difference

    settings = settings_or_exit()
    deliveries = _history(settings, since, projects, payloads)
    _, before = _replay(settings, old, deliveries)
    _, after = _replay(settings, new, deliveries)
    diff = difference(before, after)
    click.echo(json.dumps(diff, indent=2) if as_json else render_difference(diff))


@rules.command("suggest")
@click.option(
    "--rules-file", "rules_file", type=RULES_FILE, help="Rule file (default: REMEDIATOR_RULES_FILE)."
)
@_since
@_project
@_payloads
@click.option(
    "--min-issues",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Smallest group of unmatched issues worth a rule.",
)
@_json
def rules_suggest(
    rules_file: Path | None,
    since: str,
    projects: tuple[str, ...],
    payloads: Path | None,
    min_issues: int,
    as_json: bool,
) -> None:
    """Rules for the issues no rule matched in the last --since: the unmatched issues are
    grouped (category and type, exception type, the culprit's module, the title without its
    numbers, ids and quoted values); each group of at least --min-issues gets the narrowest
    rule that selects it, with approval and dry_run on, printed as YAML only when its replay
    over the window matches its group and nothing else. Nothing is added to the rule file."""
    from remediator.backtest.suggest import render, suggest
    from remediator.live_rules import configured_rules

    settings = settings_or_exit()
    deliveries = _history(settings, since, projects, payloads)
    ruleset = checked_rules(settings, rules_file)
    path = rules_file or settings.rules_file

    def load(text: str) -> Any:
        return configured_rules(settings, path, text=text)

    suggestions, refusals = suggest(
        ruleset, deliveries, load, settings.tier_max_runs, min_issues=min_issues, window=since
    )
    suggestions += _learned(settings, ruleset, {s.name for s in suggestions}, load)
    _keep_for_the_console(settings, suggestions, since)
    if as_json:
        document = {
            "suggestions": [s.document() for s in suggestions],
            "not_suggested": [
                {"group": list(r.key), "issues": r.issues, "reason": r.reason} for r in refusals
            ],
        }
        click.echo(json.dumps(document, indent=2))
    else:
        click.echo(render(suggestions, refusals, min_issues))


def _keep_for_the_console(settings: Any, suggestions: list[Any], since: str) -> None:
    """The proposals for the rules page (a Redis that does not answer is said, not fatal:
    the suggestions are printed either way)."""
    import redis

    from remediator.jobs import redis_client
    from remediator.jobs.keys import SUGGESTIONS_KEY

    document = {
        "at": time.time(),
        "window": since,
        "suggestions": [s.document() for s in suggestions],
    }
    try:
        redis_client(settings.effective_broker_url()).set(SUGGESTIONS_KEY, json.dumps(document))
    except (redis.RedisError, ValueError) as exc:
        click.echo(f"(the console's rules page will not list them: Redis did not answer: {exc})", err=True)


def _learned(settings: Any, ruleset: Any, taken: set[str], load: Any) -> list[Any]:
    """Rules from what the analyses remember (fixes that held for three or more analysed
    issues sharing a root cause), read from the running system's Redis; none when it does
    not answer (said on stderr)."""
    import redis
    import yaml

    from remediator.analysis.memory import MemoryStore
    from remediator.backtest.from_memory import learned_rules
    from remediator.backtest.suggest import from_analyses
    from remediator.jobs import JobStore, redis_client

    try:
        client = redis_client(settings.effective_broker_url())
        memories = MemoryStore(client, settings.job_retention_days * 86400).everything()
        store = JobStore(client, settings.job_retention_days)
        learned = learned_rules(memories, store.get, taken | {rule.name for rule in ruleset.rules})
    except (redis.RedisError, ValueError) as exc:
        click.echo(f"(no rules learned from analyses: Redis did not answer: {exc})", err=True)
        return []
    kept = []
    for suggestion in from_analyses(learned):
        try:
            load(yaml.safe_dump({"rules": [suggestion.rule]}, sort_keys=False))
        except RemediatorError as exc:  # a required param was secret, say: no rule without it
            click.echo(f"(not suggested from analyses: {suggestion.name}: {exc})", err=True)
            continue
        kept.append(suggestion)
    return kept


def _settling(settings: Any, ruleset: Any, decisions: list[Any]) -> tuple[dict[str, Any], list[str]]:
    """Per settling rule, the jobs its wait would have spared (each issue's activity in
    Sentry); a note instead when Sentry's API is not configured."""
    from remediator.backtest.settling import from_activity, render, settle_savings
    from remediator.sentry.api import api_for

    api = api_for(settings)
    if api is None:
        note = "needs Sentry's API (each issue's activity): set REMEDIATOR_SENTRY_AUTH_TOKEN and _ORG"
        return {"note": note}, [note]
    savings = settle_savings(ruleset, decisions, from_activity(api))
    return savings, render(savings)
