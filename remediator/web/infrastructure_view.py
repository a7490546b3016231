"""What the infrastructure page shows: the broker and the intake spool (read at once), the
rules' health URLs with their last hour of answers, and the fragments loaded after the page
(the URLs probed now, with a short timeout; Sentry's side)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from remediator.infrastructure.probes import PAGE_TIMEOUT, Probe, history, probe_all, record
from remediator.infrastructure.targets import Target, health_targets, shown
from remediator.web.runtime import Runtime


@dataclass(frozen=True)
class TargetRow:
    """A health URL, the rules that name it, and its answers of the last hour."""

    target: Target
    shown_url: str
    probes: list[Probe]

    @property
    def last(self) -> Probe | None:
        """The newest answer."""
        return self.probes[0] if self.probes else None

    @property
    def up_share(self) -> float | None:
        """Of the hour's answers, the share that were up."""
        return sum(p.up for p in self.probes) / len(self.probes) if self.probes else None


def target_rows(rt: Runtime, probe_now: bool = False) -> list[TargetRow]:
    """Each health URL with its hour of answers; with probe_now, probed first (the page's
    load) and the answers kept."""
    targets = health_targets(rt.rules)
    urls = [t.url for t in targets if not t.templated]
    if probe_now and urls:
        record(rt.store.client, probe_all(urls, PAGE_TIMEOUT, by="web"))
    answers = history(rt.store.client, urls)
    return [TargetRow(t, shown(t.url), answers.get(t.url, [])) for t in targets]


def document(rows: list[TargetRow]) -> list[dict[str, Any]]:
    """The targets as the API gives them (URLs as shown: no credentials)."""
    return [
        {
            "url": row.shown_url,
            "rules": list(row.target.rules),
            "templated": row.target.templated,
            "up": row.last.up if row.last else None,
            "up_share": row.up_share,
            "probes": [
                {"at": p.at, "status": p.status, "latency": p.latency, "error": p.error, "by": p.by}
                for p in row.probes
            ],
        }
        for row in rows
    ]
