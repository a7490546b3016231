"""/metrics: every process's counters (multiprocess mode) plus gauges read from Redis now."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

import redis
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from remediator.defaults import CLASS_TO_REDIS_PRIORITY, PRIORITY_SEP, queue_for
from remediator.jobs import controls
from remediator.jobs.keys import AWAITING_KEY


class RedisGauges(Collector):
    """Gauges that are the same for every process, read from Redis at scrape time."""

    def __init__(self, client: redis.Redis, tiers: Iterable[str], rules: Iterable[str]) -> None:
        self.client, self.tiers, self.rules = client, tuple(tiers), tuple(rules)

    def collect(self) -> Iterator[Metric]:
        """Queue depth per tier and class, jobs awaiting approval, open breakers."""
        depth = GaugeMetricFamily(
            "remediator_queue_depth",
            "Jobs waiting on a tier's queue, per priority class.",
            labels=["tier", "priority_class"],
        )
        with self.client.pipeline(transaction=False) as pipe:
            for tier in self.tiers:
                for step in CLASS_TO_REDIS_PRIORITY.values():
                    queue = queue_for(tier)
                    pipe.llen(queue if step == 0 else f"{queue}{PRIORITY_SEP}{step}")
            pipe.zcard(AWAITING_KEY)
            counts = pipe.execute()
        index = 0
        for tier in self.tiers:
            for klass in CLASS_TO_REDIS_PRIORITY:
                depth.add_metric([tier, klass.value], counts[index])
                index += 1
        yield depth
        yield GaugeMetricFamily(
            "remediator_jobs_awaiting_approval", "Jobs waiting for a person.", value=counts[index]
        )
        breakers = GaugeMetricFamily(
            "remediator_rule_breaker_open", "1 while a rule's circuit breaker is open.", labels=["rule"]
        )
        for rule, state in controls.breakers(self.client, list(self.rules)).items():
            breakers.add_metric([rule], 1 if state["disabled_reason"] else 0)
        yield breakers


def render(gauges: RedisGauges) -> bytes:
    """The text exposition: all processes' instruments (or this one's) and the gauges."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        registry.register(gauges)
        return generate_latest(registry)
    registry.register(gauges)
    return generate_latest(REGISTRY) + generate_latest(registry)
