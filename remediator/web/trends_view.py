"""The trends page's and `/api/trends`'s document: the buckets of a range as series (one
value per hour), the per-rule figures, and the rows of each chart's table (hours with
anything counted). The page draws the series with uPlot and prints the same rows as tables."""

from __future__ import annotations

from typing import Any

import redis

from remediator.trends import store
from remediator.trends.buckets import RANGES


def range_of(name: str | None) -> str:
    """The range asked for, or the first one for anything else."""
    return name if name in RANGES else next(iter(RANGES))


def document(
    client: redis.Redis, tiers: tuple[str, ...], name: str, now: float | None = None
) -> dict[str, Any]:
    """Everything the page and the API show of one range."""
    found = store.last(client, RANGES[name], tiers, now)
    return {
        "range": name,
        "hours": found.hours,
        "jobs": found.jobs,
        "webhooks": found.webhooks,
        "queue_depth": found.depth,
        "oldest_waiting_seconds": found.oldest,
        "rules": [
            {
                "rule": trend.rule,
                "verified": trend.verified,
                "ineffective": trend.ineffective,
                "verified_share": trend.verified_share,
                "recovery_p50_seconds": trend.recovery(0.5),
                "recovery_p95_seconds": trend.recovery(0.95),
            }
            for trend in found.rules
        ],
        "totals": {"jobs": found.totals(found.jobs), "webhooks": found.totals(found.webhooks)},
    }


def rows(
    hours: list[int], series: dict[str, list[Any]], readings: bool = False
) -> list[tuple[int, list[Any]]]:
    """A table's rows, newest first, one cell per series: each hour with something counted
    (a count above zero), or, for `readings` (peaks, where 0 is a reading and None is none),
    each hour with a reading."""
    names = list(series)
    found = []
    for index, hour in enumerate(hours):
        cells = [series[name][index] for name in names]
        if any(cell is not None for cell in cells) if readings else any(cells):
            found.append((hour, cells))
    return found[::-1]


CHARTS = {
    "jobs": ("jobs", "jobs"),
    "depth": ("queue_depth", "waiting jobs (peak)"),
    "oldest": ("oldest_waiting_seconds", "seconds (peak)"),
    "webhooks": ("webhooks", "webhooks"),
}
"""The time charts: the document's series each draws, and its y axis."""


def chart_payload(doc: dict[str, Any]) -> dict[str, Any]:
    """What trends.js draws: per chart, the hours, the series as [name, values] pairs (in
    order: JSON objects lose it) and the y axis's label."""
    return {
        chart: {"x": doc["hours"], "series": list(doc[key].items()), "unit": unit}
        for chart, (key, unit) in CHARTS.items()
    }
