"""/metrics: every process's counters (multiprocess mode) plus gauges read from Redis now."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator

import redis
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from remediator.jobs import controls
from remediator.jobs.keys import AWAITING_KEY, heartbeat_key
from remediator.jobs.queues import class_depths
from remediator.rules import RuleSet
from remediator.trends.efficacy import efficacy


class RedisGauges(Collector):
    """Gauges that are the same for every process, read from Redis at scrape time."""

    def __init__(
        self,
        client: redis.Redis,
        tiers: Iterable[str],
        rules: Iterable[str],
        spool_depth: Callable[[], int] | None = None,
        ruleset: Callable[[], RuleSet] | None = None,
    ) -> None:
        self.client, self.tiers, self.rules = client, tuple(tiers), tuple(rules)
        self.ruleset = ruleset
        """The rules as they are now, for the per-rule efficacy gauges."""
        self.spool_depth = spool_depth
        """This web process's spool (webhooks kept while Redis was down)."""

    def collect(self) -> Iterator[Metric]:
        """Queue depth per tier and class, jobs awaiting approval, open breakers."""
        depth = GaugeMetricFamily(
            "remediator_queue_depth",
            "Jobs waiting on a tier's queue, per priority class.",
            labels=["tier", "priority_class"],
        )
        for tier, counts in class_depths(self.client, self.tiers).items():
            for klass, count in counts.items():
                depth.add_metric([tier, klass.value], count)
        yield depth
        with self.client.pipeline(transaction=False) as pipe:
            pipe.zcard(AWAITING_KEY)
            pipe.mget([heartbeat_key(tier) for tier in self.tiers])
            awaiting, beats = pipe.execute()
        yield GaugeMetricFamily(
            "remediator_jobs_awaiting_approval", "Jobs waiting for a person.", value=awaiting
        )
        heartbeat = GaugeMetricFamily(
            "remediator_tier_heartbeat_timestamp_seconds",
            "When each tier's worker last answered its heartbeat (unix time).",
            labels=["tier"],
        )
        for tier, beat in zip(self.tiers, beats, strict=True):
            if beat:
                heartbeat.add_metric([tier], float(json.loads(beat)["at"]))
        yield heartbeat
        if self.spool_depth is not None:
            yield GaugeMetricFamily(
                "remediator_spool_depth",
                "Verified webhooks this web process keeps until Redis answers again.",
                value=self.spool_depth(),
            )
        yield from self._efficacy()
        breakers = GaugeMetricFamily(
            "remediator_rule_breaker_open", "1 while a rule's circuit breaker is open.", labels=["rule"]
        )
        for rule, state in controls.breakers(self.client, list(self.rules)).items():
            breakers.add_metric([rule], 1 if state["disabled_reason"] else 0)
        yield breakers

    def _efficacy(self) -> Iterator[Metric]:
        """Per rule: runs, verified and ineffective rates, recovery p50 and settled jobs of the
        last 7 days, canary stage, analysis tokens (only with the rule set given)."""
        if self.ruleset is None:
            return
        figures = efficacy(self.client, self.ruleset())
        families = {
            "runs": GaugeMetricFamily(
                "remediator_rule_runs", "Jobs of the rule that ran (succeeded or failed).", labels=["rule"]
            ),
            "verified_rate": GaugeMetricFamily(
                "remediator_rule_verified_ratio", "Of the rule's runs, the share verified.", labels=["rule"]
            ),
            "ineffective_rate": GaugeMetricFamily(
                "remediator_rule_ineffective_ratio",
                "Of the rule's runs, the share ineffective.",
                labels=["rule"],
            ),
            "recovery_p50_seconds_7d": GaugeMetricFamily(
                "remediator_rule_recovery_p50_seconds",
                "Median time to verified recovery, last 7 days (within 25 %).",
                labels=["rule"],
            ),
            "settled_7d": GaugeMetricFamily(
                "remediator_rule_settled_7d",
                "Jobs cancelled while settling in the last 7 days.",
                labels=["rule"],
            ),
            "analysis_tokens": GaugeMetricFamily(
                "remediator_rule_analysis_tokens", "Tokens the rule's analyses spent.", labels=["rule"]
            ),
        }
        canary = GaugeMetricFamily(
            "remediator_rule_canary", "1 while a rule with a rollout is not promoted.", labels=["rule"]
        )
        for rule, found in figures.items():
            for name, family in families.items():
                if found[name] is not None:
                    family.add_metric([rule], float(found[name]))
            if found["stage"] is not None:
                canary.add_metric([rule], 0 if found["stage"] == "promoted" else 1)
        yield from families.values()
        yield canary


def render(gauges: RedisGauges) -> bytes:
    """The text exposition: all processes' instruments (or this one's) and the gauges."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        registry.register(gauges)
        return generate_latest(registry)
    registry.register(gauges)
    return generate_latest(REGISTRY) + generate_latest(registry)
