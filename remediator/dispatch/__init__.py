"""Submitting planned jobs and deciding on them afterwards, one module per caller:
`submit` (the intake), `decisions` (operators: console, API, CLI), `maintenance` (the
sweep), `reactions` (Sentry's and Seer's webhooks). `Dispatcher` is all four."""

from __future__ import annotations

from celery import Celery

from remediator.dispatch.decisions import Decisions
from remediator.dispatch.maintenance import Maintenance
from remediator.dispatch.reactions import Reactions
from remediator.dispatch.submit import TAGS_KEPT, TITLE_KEPT, active_ttl, presumed_status, soft_limit
from remediator.errors import RuleStateError
from remediator.jobs import controls, rollouts
from remediator.lifecycle import Event, EventKind, Lifecycle
from remediator.rules import RuleSet
from remediator.rules.rollout import PROMOTED, Rollout, rule_hash
from remediator.settings import Settings

__all__ = [
    "TAGS_KEPT",
    "TITLE_KEPT",
    "Dispatcher",
    "active_ttl",
    "dispatcher_for",
    "presumed_status",
    "promote_rule",
    "reenable_rule",
    "soft_limit",
]


class Dispatcher(Decisions, Maintenance, Reactions):
    """Turns JobSpecs into job records, queues those that may run, and carries out what
    operators, the sweep, Sentry and Seer decide about them."""


def dispatcher_for(settings: Settings, celery: Celery, lifecycle: Lifecycle) -> Dispatcher:
    """The dispatcher every process builds from the settings."""
    return Dispatcher(
        celery,
        lifecycle,
        dry_run=settings.dry_run,
        tier_caps=settings.tier_max_runs,
        approval_ttl=settings.approval_ttl_seconds,
        two_person=(frozenset(settings.two_person_classes), frozenset(settings.approval_tiers)),
    )


def reenable_rule(rules: RuleSet, lifecycle: Lifecycle, name: str, by: str) -> bool:
    """Close a rule's circuit breaker (RuleNotFound for a rule not in the file); returns
    whether it was open. Emits breaker_closed when it was."""
    rule = rules.get(name)
    was_open = controls.enable_rule(lifecycle.store.client, name)
    if was_open:
        lifecycle.emit(Event(kind=EventKind.BREAKER_CLOSED, rule=name, tier=rule.job.tier, actor=by))
    return was_open


def promote_rule(rules: RuleSet, lifecycle: Lifecycle, name: str, by: str) -> str:
    """Promote a canary rule (RuleNotFound for a rule not in the file, RemediatorError for
    one without a rollout: RuleStateError): its production jobs run from now on. Emits rule_promoted;
    returns the stage it was in."""
    rule = rules.get(name)
    if rule.rollout is None:
        raise RuleStateError(f"rule {name!r} has no rollout: it is not a canary")
    key = rule_hash(rule.match.model_dump(mode="json"), rule.job.model_dump(mode="json"))
    client = lifecycle.store.client
    before = rollouts.current(client, name, key)
    if before.stage != PROMOTED:
        rollouts.save(client, name, key, Rollout(PROMOTED, before.count), f"promoted by {by}", by=by)
        reason = f"promoted by {by} at {before.count} of {rule.rollout.promote_after} verified"
        lifecycle.emit(
            Event(
                kind=EventKind.RULE_PROMOTED,
                rule=name,
                tier=rule.job.tier,
                actor=by,
                detail={"reason": reason},
            )
        )
    return before.stage
