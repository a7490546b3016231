"""Per rule, how well it works: runs, verified and ineffective rates, the median time to
verified recovery and the jobs settling spared (the last 7 days' buckets), its canary
stage, and the tokens its analyses spent. Read by the rules page, the API and /metrics."""

from __future__ import annotations

from typing import Any

import redis

from remediator.jobs import rollouts
from remediator.jobs.keys import SPENT_TOKENS, stats_key
from remediator.rules import RuleSet
from remediator.rules.rollout import rule_hash
from remediator.trends import store

WEEK_HOURS = 7 * 24


def efficacy(client: redis.Redis, rules: RuleSet) -> dict[str, dict[str, Any]]:
    """Each rule's figures, in three round trips (its counts, a week of buckets, canaries)."""
    names = [rule.name for rule in rules.rules]
    with client.pipeline(transaction=False) as pipe:
        for name in names:
            pipe.hgetall(stats_key(name))
        rows: list[dict[str, str]] = pipe.execute()
    week = {trend.rule: trend for trend in store.last(client, WEEK_HOURS, ()).rules}
    found = {}
    for rule, row in zip(rules.rules, rows, strict=True):
        count = {k: int(float(row.get(k, 0))) for k in ("succeeded", "failed", "verified", "ineffective")}
        runs = count["succeeded"] + count["failed"]
        trend = week.get(rule.name)
        stage = None
        if rule.rollout is not None:
            key = rule_hash(rule.match.model_dump(mode="json"), rule.job.model_dump(mode="json"))
            stage = rollouts.current(client, rule.name, key).stage
        found[rule.name] = {
            "runs": runs,
            "verified_rate": count["verified"] / runs if runs else None,
            "ineffective_rate": count["ineffective"] / runs if runs else None,
            "recovery_p50_seconds_7d": trend.recovery(0.5) if trend else None,
            "settled_7d": trend.settled if trend else 0,
            "stage": stage,
            "analysis_tokens": int(float(row.get(SPENT_TOKENS, 0))),
        }
    return found
