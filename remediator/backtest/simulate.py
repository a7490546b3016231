"""Replaying a history through the rules and the gate, in time order, touching no live
Redis and queuing nothing.

The decisions are the live ones: `rules.plan` picks the jobs, `dispatch.presumed` says
whether each would wait for approval or only be a dry run, and `jobs.gate.Gate` itself —
the same Lua script the web runs — decides dedup, once_within, coalescing, max_runs and the
tier caps, on a private scratch Redis with the history's clock: each decision is made at
the delivery's time, and the gate's windows (the keys it sets with an expiry) are ended at
their simulated time, not the wall clock's. What cannot be known from history is assumed
and said: a job that would run finishes at once (it holds its key, for coalescing, for
`RUN_SECONDS`), one waiting for approval holds it until the approval would expire, and no
rule's breaker opens (outcomes are not replayed)."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory

import redis

from remediator.backtest.history import Delivery
from remediator.defaults import APPROVAL_TTL_SECONDS
from remediator.dispatch import active_ttl, presumed_status
from remediator.errors import PayloadError
from remediator.jobs import JobStatus
from remediator.jobs.gate import Gate, Verdict, gate_keys
from remediator.local.embedded_redis import EmbeddedRedis
from remediator.payloads import Subject, parse_webhook, subject_of
from remediator.remediation_scripts import get_script
from remediator.rules import RuleSet, plan
from remediator.rules.engine import JobSpec

RUN_SECONDS = 60.0
"""How long a job that would have run is taken to hold its key (coalescing onto it)."""


@dataclass(frozen=True)
class Decision:
    """What the rules and the gate would have done with one delivery (one per planned job;
    one with rule None when no rule matched or the payload could not be read)."""

    delivery: Delivery
    rule: str | None
    status: JobStatus | None
    reason: str | None = None


class SimulatedGate:
    """`Gate` on a scratch Redis whose windows follow the history's clock."""

    def __init__(self, client: redis.Redis, tier_caps: dict[str, tuple[int, float]]) -> None:
        self.client = client
        self.gate = Gate(client, tier_caps)
        self.ends: dict[str, float] = {}
        """Keys the gate set with an expiry, and the simulated time they end."""

    def decide(
        self, spec: JobSpec, subject: Subject, at: float, presumed_status: JobStatus, approval_ttl: float
    ) -> Verdict:
        """The live decision at simulated time `at`, with the dispatcher's arguments."""
        for key, end in list(self.ends.items()):
            if end <= at:
                self.client.delete(key)
                del self.ends[key]
        ttl = active_ttl(spec.time_limit or get_script(spec.script).time_limit, approval_ttl)
        reserve = presumed_status != JobStatus.DRY_RUN
        verdict = self.gate.decide(spec, subject, uuid.uuid4().hex, reserve=reserve, active_ttl=ttl, now=at)
        keys = gate_keys(spec, subject)
        for key in keys:
            if key not in self.ends and (left := int(self.client.pttl(key))) > 0:
                self.ends[key] = at + math.ceil(left / 1000)
        if verdict.status == JobStatus.QUEUED and reserve:
            # The job's key is held while it runs (taken to be at once) or waits for a person.
            waits = presumed_status == JobStatus.AWAITING_APPROVAL
            self.ends[keys.active] = at + (approval_ttl if waits else RUN_SECONDS)
        return verdict


@contextmanager
def scratch_redis() -> Iterator[redis.Redis]:
    """A private redis-server (the one `remediator up` embeds) for one simulation."""
    with TemporaryDirectory(prefix="remediator-backtest-") as tmp, EmbeddedRedis(Path(tmp)) as server:
        yield redis.Redis.from_url(server.url)


def simulate(
    rules: RuleSet,
    deliveries: Iterable[Delivery],
    tier_caps: dict[str, tuple[int, float]],
    dry_run: bool = False,
    approval_ttl: float = APPROVAL_TTL_SECONDS,
    client: redis.Redis | None = None,
) -> list[Decision]:
    """Every delivery through the rules and the gate, in the order given (time order)."""
    if client is None:
        with scratch_redis() as scratch:
            return simulate(rules, deliveries, tier_caps, dry_run, approval_ttl, scratch)
    gate = SimulatedGate(client, tier_caps)
    out: list[Decision] = []
    for delivery in deliveries:
        try:
            subject = subject_of(delivery.resource, parse_webhook(delivery.resource, delivery.body))
        except PayloadError as exc:
            out.append(Decision(delivery, None, None, f"unreadable: {exc}"))
            continue
        specs = plan(rules, subject)
        if not specs:
            out.append(Decision(delivery, None, None, "no rule matched"))
        for spec in specs:
            if spec.render_error:
                out.append(Decision(delivery, spec.rule, JobStatus.FAILED, spec.render_error))
                continue
            status, reason = presumed_status(spec, dry_run)
            verdict = gate.decide(spec, subject, delivery.at, status, approval_ttl)
            if verdict.status != JobStatus.QUEUED:
                status, reason = verdict.status, verdict.reason
            out.append(Decision(delivery, spec.rule, status, reason))
    return out
