"""Backtests: what rule files would have done with past issues, in simulation."""

from remediator.backtest.history import Delivery, from_directory, from_sentry, in_window, issue_delivery
from remediator.backtest.report import difference, render, render_difference, summarise
from remediator.backtest.simulate import Decision, SimulatedGate, scratch_redis, simulate


def stats_period(seconds: float) -> str:
    """A window as Sentry's `statsPeriod` (14d, 12h, 30m, 90s)."""
    whole = max(1, round(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if whole % size == 0:
            return f"{whole // size}{unit}"
    return f"{whole}s"


__all__ = [
    "Decision",
    "Delivery",
    "SimulatedGate",
    "difference",
    "from_directory",
    "from_sentry",
    "in_window",
    "issue_delivery",
    "render",
    "render_difference",
    "scratch_redis",
    "simulate",
    "stats_period",
    "summarise",
]
