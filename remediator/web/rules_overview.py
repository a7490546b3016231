"""The rules as operators see them, for the API and the dashboard alike."""

from __future__ import annotations

from typing import Any

from remediator.analysis.spend import rule_spend
from remediator.jobs import JobStore, controls, rollouts
from remediator.rules import Rule, RuleSet
from remediator.rules.rollout import rule_hash
from remediator.trends.efficacy import efficacy


def rules_overview(rules: RuleSet, store: JobStore) -> list[dict[str, Any]]:
    """Each loaded rule: what it matches and runs, its safety settings, its outcome counts
    (succeeded, failed, verified, ineffective), what its analyses spent and its breaker, in
    three round trips."""
    names = [r.name for r in rules.rules]
    stats = store.rule_stats(names)
    spend = rule_spend(store.client, names)
    breakers = controls.breakers(store.client, names)
    stages = {r.name: _rollout(store, r) for r in rules.rules if r.rollout is not None}
    figures = efficacy(store.client, rules)
    return [
        {
            "name": r.name,
            "description": r.description,
            "enabled": r.enabled and breakers[r.name]["disabled_reason"] is None,
            "disabled_in_file": not r.enabled,
            "match": r.match.model_dump(mode="json", exclude_none=True, exclude_defaults=True),
            "script": r.job.script,
            "tier": r.job.tier,
            "priority_class": r.job.class_text,
            "namespace": r.job.namespace,
            "verify_after": r.verify_after,
            "verify": r.verify,
            "resolve_issue": r.resolve_issue,
            "outcomes": stats[r.name],
            "analysis_spend": spend[r.name],
            "approval": r.needs_approval(),
            "approvers": r.approvers,
            "approval_follows_class": r.approval is None,
            "dry_run": r.dry_run,
            "once_within": r.once_within,
            "max_runs": r.max_runs.model_dump() if r.max_runs else None,
            "breaker_after": r.breaker_after,
            "breaker": breakers[r.name],
            "rollout": stages.get(r.name),
            "efficacy": figures[r.name],
        }
        for r in rules.rules
    ]


def _rollout(store: JobStore, rule: Rule) -> dict[str, Any]:
    """A canary rule's stage, count and latest log lines."""
    assert rule.rollout is not None
    key = rule_hash(rule.match.model_dump(mode="json"), rule.job.model_dump(mode="json"))
    state = rollouts.current(store.client, rule.name, key)
    return {
        "stage": state.stage,
        "verified": state.count,
        "promote_after": rule.rollout.promote_after,
        "promote": rule.rollout.promote,
        "log": rollouts.log(store.client, rule.name, key, 5),
    }
