"""What a backtest says, per rule and about the gaps, as text or JSON (pure)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from remediator.backtest.simulate import Decision
from remediator.jobs import JobStatus

OUTCOMES = {
    JobStatus.QUEUED: "would_run",
    JobStatus.AWAITING_APPROVAL: "would_wait_for_approval",
    JobStatus.DRY_RUN: "dry_run",
    JobStatus.THROTTLED: "throttled",
    JobStatus.COALESCED: "coalesced",
    JobStatus.DUPLICATE: "duplicate",
    JobStatus.FAILED: "params_failed",
}
"""The columns of a rule's line, by the status the job would have had."""

TOP = 10


def _outcome(decision: Decision) -> str:
    status = decision.status
    return "none" if status is None else OUTCOMES.get(status, status.value)


def _issue(decision: Decision) -> dict[str, Any]:
    d = decision.delivery
    return {"source": d.source, "title": d.title, "events": d.events}


def _largest(decisions: list[Decision], limit: int) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for decision in decisions:
        seen.setdefault(decision.delivery.source, _issue(decision))
    return sorted(seen.values(), key=lambda i: (-i["events"], i["source"]))[:limit]


def summarise(decisions: list[Decision], rule_names: list[str]) -> dict[str, Any]:
    """Per rule (in file order, unmatched rules too): matches and outcomes, the issues it
    would have touched (largest first); the deliveries no rule matched, largest first."""
    rules: dict[str, Any] = {}
    for name in rule_names:
        mine = [d for d in decisions if d.rule == name]
        counts = Counter(_outcome(d) for d in mine)
        rules[name] = {
            "matches": len(mine),
            **{column: counts.get(column, 0) for column in OUTCOMES.values()},
            "issues": _largest(mine, TOP),
        }
    unmatched = [d for d in decisions if d.rule is None]
    deliveries = {d.delivery.source for d in decisions}
    return {
        "deliveries": len(deliveries),
        "rules": rules,
        "unmatched": len({d.delivery.source for d in unmatched}),
        "unmatched_largest": _largest(unmatched, 2 * TOP),
    }


def render(summary: dict[str, Any]) -> str:
    """The summary as a text report."""
    lines = [f"{summary['deliveries']} deliveries replayed", ""]
    header = ("rule", "matches", "run", "approval", "dry run", "throttled", "coalesced", "duplicate")
    rows = [header]
    for name, r in summary["rules"].items():
        rows.append(
            (
                name,
                str(r["matches"]),
                str(r["would_run"]),
                str(r["would_wait_for_approval"]),
                str(r["dry_run"]),
                str(r["throttled"]),
                str(r["coalesced"]),
                str(r["duplicate"]),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
    for name, r in summary["rules"].items():
        if r["issues"]:
            lines += ["", f"{name}: the issues it would have touched, largest first"]
            lines += [f"  {i['events']:>8} events  {i['source']}  {i['title']}" for i in r["issues"]]
    lines += ["", f"No rule matched {summary['unmatched']} of them; the largest:"]
    lines += [f"  {i['events']:>8} events  {i['source']}  {i['title']}" for i in summary["unmatched_largest"]]
    if not summary["unmatched_largest"]:
        lines.append("  (none: every delivery matched a rule)")
    return "\n".join(lines)


def difference(old: list[Decision], new: list[Decision]) -> dict[str, Any]:
    """What changes between two rule files on the same history: per delivery, the jobs
    (rule and outcome) before and after, where they differ, largest first."""

    def by_source(decisions: list[Decision]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for d in decisions:
            text = f"{d.rule}: {_outcome(d)}" if d.rule else "no rule"
            out.setdefault(d.delivery.source, []).append(text)
        return out

    before, after = by_source(old), by_source(new)
    events = {d.delivery.source: d.delivery.events for d in old}
    titles = {d.delivery.source: d.delivery.title for d in old}
    changed: list[dict[str, Any]] = [
        {"source": s, "title": titles[s], "events": events[s], "before": before[s], "after": after.get(s, [])}
        for s in before
        if before[s] != after.get(s, [])
    ]
    changed.sort(key=lambda c: (-int(c["events"]), str(c["source"])))
    return {"deliveries": len(before), "changed": len(changed), "changes": changed}


def render_difference(diff: dict[str, Any], limit: int = 50) -> str:
    """The difference as text."""
    lines = [f"{diff['changed']} of {diff['deliveries']} deliveries would be handled differently"]
    for c in diff["changes"][:limit]:
        lines.append(f"  {c['events']:>8} events  {c['source']}  {c['title']}")
        lines.append(f"           before: {'; '.join(c['before'])}")
        lines.append(f"           after:  {'; '.join(c['after'])}")
    if diff["changed"] > limit:
        lines.append(f"  ... and {diff['changed'] - limit} more (--json lists them all)")
    return "\n".join(lines)
