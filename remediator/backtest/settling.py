"""What settling would have saved: per rule with `settle`, how many of the jobs the replay
would have run were for issues Sentry resolved within the wait without them (read off each
issue's activity: its first `set_resolved…` after the delivery). `auto` is measured against
`settle_max`, the longest it may wait."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from remediator.backtest.history import Delivery
from remediator.backtest.simulate import Decision
from remediator.jobs import JobStatus
from remediator.rules import RuleSet
from remediator.sentry.api import SentryApi, SentryApiError, parse_time

CHECKED = 200
"""Most issues per rule whose activity is read (one API call each)."""


def settle_savings(
    rules: RuleSet, decisions: list[Decision], resolved_after: Callable[[Delivery], float | None]
) -> dict[str, dict[str, Any]]:
    """Per rule with `settle`: its wait, the jobs it would have run, how many were checked and
    how many settling would have spared."""
    found = {}
    for rule in rules.rules:
        if rule.settle is None:
            continue
        wait = rule.settle_max if rule.settle == "auto" else float(rule.settle)
        runs = [d for d in decisions if d.rule == rule.name and d.status is JobStatus.QUEUED]
        checked = runs[:CHECKED]
        saved = 0
        for decision in checked:
            after = resolved_after(decision.delivery)
            if after is not None and after <= wait:
                saved += 1
        found[rule.name] = {
            "wait_seconds": wait,
            "auto": rule.settle == "auto",
            "would_run": len(runs),
            "checked": len(checked),
            "saved": saved,
        }
    return found


def from_activity(api: SentryApi) -> Callable[[Delivery], float | None]:
    """How long after a delivery Sentry resolved its issue, from the issue's activity (None:
    not resolved since, or Sentry did not say)."""

    def resolved_after(delivery: Delivery) -> float | None:
        issue_id = str(delivery.issue.get("id") or delivery.issue.get("issue_id") or "")
        if not issue_id:
            return None
        try:
            activity = api.activities(issue_id)
        except SentryApiError:
            return None
        times = [
            parse_time(str(a["dateCreated"]))
            for a in activity
            if str(a.get("type", "")).startswith("set_resolved") and a.get("dateCreated")
        ]
        later = [t - delivery.at for t in times if t >= delivery.at]
        return min(later) if later else None

    return resolved_after


def render(savings: dict[str, dict[str, Any]]) -> list[str]:
    """The report's lines about settling."""
    from remediator.durations import span_text

    lines = []
    for rule, s in savings.items():
        wait = span_text(s["wait_seconds"]) + (" (settle_max, for auto)" if s["auto"] else "")
        of = (
            f"{s['checked']} checked of {s['would_run']}"
            if s["checked"] < s["would_run"]
            else str(s["would_run"])
        )
        lines.append(
            f"{rule}: settling {wait} would have spared {s['saved']} of {of} jobs it ran "
            "(their issues resolved by themselves)"
        )
    return lines
