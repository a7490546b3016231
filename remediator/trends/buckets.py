"""What the trends count, as hourly buckets: which fields a job's change adds to, and how a
range of buckets becomes the series and tables the console draws. Pure: no I/O.

One bucket is one Redis hash per UTC hour; its fields are counters named here:
- `jobs:<outcome>`: jobs that reached an outcome that hour (succeeded, failed, verified,
  ineffective, skipped) or started waiting for a person (waiting: awaiting approval, held);
- `rule:<rule>:verified`, `rule:<rule>:ineffective`: the same, per rule;
- `rule:<rule>:settled`: the rule's jobs cancelled while settling (the issue resolved by itself);
- `rule:<rule>:recovery:<bin>`: verified jobs by time from the webhook to the verified
  recovery, in geometric bins (RECOVERY_BOUNDS), so percentiles merge across hours;
- `tier:<tier>:depth`, `tier:<tier>:oldest`: the hour's highest queue depth and oldest
  waiting job's age (seconds), as the tier's heartbeats saw them (a maximum, not a sum);
- `webhooks:<outcome>`: webhooks accepted, ignored or refused.
Kept 35 days (`jobs.keys.TREND_RETENTION`).
Rule and tier names never hold a colon (the rule file's name pattern), so fields split cleanly.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from remediator.jobs.keys import hour_of
from remediator.jobs.model import Job
from remediator.lifecycle.events import EventKind

HOUR = 3600

OUTCOMES = ("succeeded", "failed", "verified", "ineffective", "skipped", "waiting")
"""The outcomes the jobs chart stacks, in its order."""

WEBHOOK_OUTCOMES = ("accepted", "ignored", "refused")

COUNTED: dict[EventKind, str] = {
    EventKind.SUCCEEDED: "succeeded",
    EventKind.FAILED: "failed",
    EventKind.VERIFIED: "verified",
    EventKind.INEFFECTIVE: "ineffective",
    EventKind.SKIPPED: "skipped",
    EventKind.AWAITING_APPROVAL: "waiting",
    EventKind.HELD: "waiting",
}
"""The events a bucket counts, by the outcome they count as."""

RECOVERY_STEP = 1.25
"""Each recovery bin's upper bound is 1.25 times the one before: a percentile read off the
bins is within 25 % of the true one."""

RECOVERY_BOUNDS: tuple[float, ...] = tuple(RECOVERY_STEP**n for n in range(0, 61))
"""Upper bounds of the recovery bins, 1 s to about 7 weeks (the last bin takes the rest)."""

RANGES = {"24h": 24, "7d": 7 * 24}
"""The ranges the trends page offers, in hours."""


def recovery_bin(seconds: float) -> int:
    """The bin a recovery time falls in."""
    if seconds <= 1:
        return 0
    return min(len(RECOVERY_BOUNDS) - 1, math.ceil(math.log(seconds) / math.log(RECOVERY_STEP)))


def webhook_outcome(status: str, code: int) -> str:
    """How the trends count a webhook's answer: refused (any 4xx or 5xx), ignored (verified
    and let be: nothing matched, a repeat, a resource not acted on), else accepted."""
    if code >= 400:
        return "refused"
    return "ignored" if status in ("ignored", "duplicate") else "accepted"


def job_counts(kind: EventKind, job: Job, at: float) -> dict[str, int]:
    """The fields a job's event adds one to (none for an event the trends do not count)."""
    if kind is EventKind.CANCELLED and job.settle_until is not None:
        return {f"rule:{job.rule}:settled": 1}  # it settled: the issue resolved meanwhile
    outcome = COUNTED.get(kind)
    if outcome is None:
        return {}
    counts = {f"jobs:{outcome}": 1}
    if kind in (EventKind.VERIFIED, EventKind.INEFFECTIVE):
        counts[f"rule:{job.rule}:{outcome}"] = 1
    if kind is EventKind.VERIFIED:
        counts[f"rule:{job.rule}:recovery:{recovery_bin(at - job.created_at)}"] = 1
    return counts


# -- reading ----------------------------------------------------------------------------


Buckets = Mapping[int, Mapping[str, str]]
"""Buckets read back: hour → field → value (as Redis answers)."""


@dataclass
class RuleTrend:
    """One rule over a range: its verified and ineffective jobs and how fast it recovered."""

    rule: str
    verified: int = 0
    ineffective: int = 0
    settled: int = 0
    """Jobs cancelled while settling: the issue resolved by itself meanwhile."""
    recovery_bins: dict[int, int] = field(default_factory=dict)

    @property
    def verified_share(self) -> float | None:
        """Verified of verified + ineffective, or None before either."""
        judged = self.verified + self.ineffective
        return self.verified / judged if judged else None

    def recovery(self, quantile: float) -> float | None:
        """The time to verified recovery at a quantile (0.5: the median), read off the bins
        as the bin's upper bound; None before any verified job."""
        total = sum(self.recovery_bins.values())
        if not total:
            return None
        rank, seen = quantile * total, 0
        for index in sorted(self.recovery_bins):
            seen += self.recovery_bins[index]
            if seen >= rank:
                return RECOVERY_BOUNDS[index]
        return RECOVERY_BOUNDS[max(self.recovery_bins)]


@dataclass
class Trends:
    """A range of hourly buckets, ready to draw: one point per hour, oldest first."""

    hours: list[int]
    jobs: dict[str, list[int]]
    """Per outcome (OUTCOMES), jobs per hour."""
    webhooks: dict[str, list[int]]
    """Per outcome (WEBHOOK_OUTCOMES), webhooks per hour."""
    depth: dict[str, list[int | None]]
    """Per tier, the hour's highest queue depth (None: no heartbeat that hour)."""
    oldest: dict[str, list[int | None]]
    """Per tier, the hour's oldest waiting job's age in seconds (None: no heartbeat)."""
    rules: list[RuleTrend]
    """Rules with a verified or ineffective job in the range, by name."""

    def totals(self, series: Mapping[str, list[int]]) -> dict[str, int]:
        """Each series' sum over the range."""
        return {name: sum(values) for name, values in series.items()}


def range_hours(now: float, hours: int) -> list[int]:
    """The buckets of the last `hours` hours, the current one last."""
    last = hour_of(now)
    return [last - HOUR * n for n in range(hours - 1, -1, -1)]


def trends(buckets: Buckets, hours: list[int], tiers: Iterable[str]) -> Trends:
    """The series and per-rule figures of these hours' buckets."""
    rows = [buckets.get(hour) or {} for hour in hours]
    tiers = list(tiers)

    def counts(name: str) -> list[int]:
        return [int(row.get(name, 0)) for row in rows]

    def peaks(name: str) -> list[int | None]:
        return [int(float(row[name])) if name in row else None for row in rows]

    rules: dict[str, RuleTrend] = {}
    for row in rows:
        for name, value in row.items():
            if not name.startswith("rule:"):
                continue
            _, rule, what, *rest = name.split(":")
            trend = rules.setdefault(rule, RuleTrend(rule))
            if what == "verified":
                trend.verified += int(value)
            elif what == "ineffective":
                trend.ineffective += int(value)
            elif what == "settled":
                trend.settled += int(value)
            elif what == "recovery" and rest:
                index = int(rest[0])
                trend.recovery_bins[index] = trend.recovery_bins.get(index, 0) + int(value)
    return Trends(
        hours=hours,
        jobs={outcome: counts(f"jobs:{outcome}") for outcome in OUTCOMES},
        webhooks={outcome: counts(f"webhooks:{outcome}") for outcome in WEBHOOK_OUTCOMES},
        depth={tier: peaks(f"tier:{tier}:depth") for tier in tiers},
        oldest={tier: peaks(f"tier:{tier}:oldest") for tier in tiers},
        rules=[rules[name] for name in sorted(rules)],
    )
