"""When an analysis is worth a model's time: the rule file's `analysis:` section (per rule,
beside `job:`; a top-level section sets the defaults) and the decision itself, pure.

The seed analyses every production error (`min_events: 1`); Sentry's Seer runs by itself only
for issues with at least 10 events seen in the last 14 days. The defaults here: at least one
event, seen within 14 days, not analysed again within 7 days."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from remediator.durations import span_text
from remediator.rules.fields import Duration, _Strict

DAY = 86400.0


class AnalysisGate(_Strict):
    """What an issue must show before an analysis job asks a model about it."""

    min_events: int = Field(default=1, ge=0)
    """At least this many events of the issue (Sentry's `count`)."""
    min_users: int = Field(default=0, ge=0)
    """At least this many users affected (Sentry's `userCount`)."""
    seen_within: Duration = 14 * DAY
    """The issue's last event at most this long ago (0: however old)."""
    reanalyze_after: Duration = 7 * DAY
    """An issue analysed (and commented) less than this long ago is not analysed again
    (0: every time)."""


def merged(defaults: AnalysisGate, rule: AnalysisGate | None) -> AnalysisGate:
    """The rule's gate: what the rule sets, over the file's defaults for the rest."""
    if rule is None:
        return defaults
    return defaults.model_copy(update={name: getattr(rule, name) for name in rule.model_fields_set})


def _epoch(value: Any) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def refusal(gate: AnalysisGate, issue: dict[str, Any], now: float, analysed_at: float | None) -> str | None:
    """Why the issue (Sentry's issue details) is not analysed now, or None when it is.
    analysed_at: when this issue was last analysed and commented, if ever."""
    events = int(issue.get("count") or 0)
    if events < gate.min_events:
        return f"the issue has {events} event(s); the rule's analysis gate asks for {gate.min_events}"
    users = int(issue.get("userCount") or 0)
    if users < gate.min_users:
        return f"the issue affected {users} user(s); the rule's analysis gate asks for {gate.min_users}"
    last_seen = _epoch(issue.get("lastSeen"))
    if gate.seen_within and last_seen is not None and now - last_seen > gate.seen_within:
        return (
            f"the issue was last seen {span_text(now - last_seen)} ago; the rule's analysis gate "
            f"asks for an event within {span_text(gate.seen_within)}"
        )
    if gate.reanalyze_after and analysed_at is not None and now - analysed_at < gate.reanalyze_after:
        return (
            f"the issue was analysed {span_text(now - analysed_at)} ago; the rule analyses it again "
            f"after {span_text(gate.reanalyze_after)}"
        )
    return None
