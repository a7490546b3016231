"""The `remediator` command: one module per command group, all attached to `main`."""

from remediator.cli import (
    analyze,
    audit,
    backtest,
    builds,
    control,
    demo,
    jobs,
    notify,
    processes,
    rules,
    sentry,
    users,
)
from remediator.cli.base import main

__all__ = [
    "analyze",
    "audit",
    "backtest",
    "builds",
    "control",
    "demo",
    "jobs",
    "main",
    "notify",
    "processes",
    "rules",
    "sentry",
    "users",
]
