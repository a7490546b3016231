"""How long a rule's jobs settle before they run: the rule's own duration, or, for
`settle: auto`, what its issues of the last 30 days say. Pure."""

from __future__ import annotations

import math
from collections.abc import Sequence

from remediator.defaults import PriorityClass
from remediator.durations import span_text

Sample = tuple[bool, float | None]
"""One issue a rule matched: whether a job of it ran, and how long after its first webhook
Sentry resolved it (None: not resolved)."""

SHARE = 1 / 3
"""`auto` settles only when at least this share of the rule's issues resolved by themselves."""

QUANTILE = 0.9


def learned_wait(samples: Sequence[Sample], settle_max: float, days: int = 30) -> tuple[float, str]:
    """What `auto` settles for, and why in words: the 90th percentile of the times the
    rule's issues took to resolve without a job having run, at most settle_max, when at least
    a third of them did; else 0."""
    total = len(samples)
    themselves = sorted(t for ran, t in samples if not ran and t is not None)
    if not total:
        return 0.0, f"no issue of this rule in the last {days} days to learn from"
    share = f"{len(themselves)} of {total} issues of the last {days} days resolved by themselves"
    if len(themselves) < SHARE * total or not themselves:
        return 0.0, f"{share}: fewer than a third, so it does not settle"
    p90 = themselves[max(0, math.ceil(QUANTILE * len(themselves)) - 1)]
    wait = min(p90, settle_max)
    capped = f", capped at {span_text(settle_max)}" if p90 > settle_max else ""
    return wait, f"{share}, 90 % of them within {span_text(p90)}{capped}"


def settle_for(
    settle: float | str | None, priority_class: PriorityClass, learned: tuple[float, str] | None
) -> tuple[float, str | None]:
    """How long one job settles and why: the rule's duration as given (class A too: the rule
    said so); `auto` what was learned, never for class A; else not at all."""
    if settle is None or settle == 0:
        return 0.0, None
    if isinstance(settle, int | float):
        return float(settle), f"its rule says settle: {span_text(float(settle))}"
    if priority_class is PriorityClass.A:
        return 0.0, None
    if learned is None:
        return 0.0, None
    seconds, why = learned
    return (seconds, f"settle: auto — {why}") if seconds > 0 else (0.0, None)
