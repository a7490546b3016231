"""Storm control: the one atomic decision whether a planned job may be queued.

Every check and every reservation happens in a single Lua script, so concurrent webhooks
(several gunicorn workers, several web machines) never both get through a limit of one.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import redis

from remediator.jobs.keys import (
    PAUSED_KEY,
    active_key,
    breaker_key,
    dedup_key,
    once_key,
    rule_runs_key,
    tier_runs_key,
)
from remediator.jobs.model import JobStatus
from remediator.payloads import Subject, content_id
from remediator.rules.engine import JobSpec

_GATE = (Path(__file__).parent / "gate.lua").read_text()
"""The decision as one Lua script: every check and reservation is atomic."""


class GateKeys(NamedTuple):
    """The keys one decision reads and writes (KEYS of gate.lua, in order)."""

    dedup: str
    breaker: str
    paused: str
    once: str
    active: str
    rule_runs: str
    tier_runs: str


def gate_keys(spec: JobSpec, subject: Subject) -> GateKeys:
    """The keys of the decision for this job."""
    content = f"{subject.resource}:{subject.action}:{content_id(subject)}"
    return GateKeys(
        dedup_key(spec.rule, content),
        breaker_key(spec.rule),
        PAUSED_KEY,
        once_key(spec.rule, spec.key),
        active_key(spec.rule, spec.key),
        rule_runs_key(spec.rule),
        tier_runs_key(spec.tier),
    )


@dataclass(frozen=True)
class Verdict:
    """What the gate decided for one planned job."""

    status: JobStatus
    reason: str | None = None
    related_job: str | None = None


class Gate:
    """Dedup, breaker, pause, once_within, concurrency, max_runs and the tier cap."""

    def __init__(self, client: redis.Redis, tier_caps: dict[str, tuple[int, float]]) -> None:
        self.client = client
        self.tier_caps = tier_caps

    def decide(
        self,
        spec: JobSpec,
        subject: Subject,
        job_id: str,
        reserve: bool,
        active_ttl: float,
        then: Callable[[Any], None] | None = None,
        peek: bool = False,
        now: float | None = None,
        publish: Sequence[tuple[str, str, str]] = (),
    ) -> Verdict:
        """Check every limit for the job and, if it may go ahead and reserve is set, take
        its place in each (atomically). peek: only look; nothing is written (not even the
        delivery's dedup mark). now: the time of the decision (a backtest's history; the
        clock by default). publish: the Redis commands of the job's message (lpush, publish,
        pexpire; see dispatch.job_message), run in the same script only when the job may go
        ahead, so the message exists exactly when the reservation does."""
        rule, key = spec.rule, spec.key
        rule_max, rule_per = spec.max_runs or (0, 1.0)
        tier_max, tier_per = self.tier_caps.get(spec.tier, (0, 1.0))
        keys = list(gate_keys(spec, subject))
        args: list[str | float] = [
            job_id,
            time.time() if now is None else now,
            max(1, math.ceil(spec.dedup_window)),
            spec.once_within or 0,
            rule_max,
            rule_per,
            tier_max,
            tier_per,
            "1" if reserve and not peek else "0",
            max(1, math.ceil(active_ttl)),
            "1" if peek else "0",
            len(publish),
            *(part for command in publish for part in command),
        ]
        # The script and the caller's commands (the job record) travel in one transaction:
        # one round trip on the hot path. EVAL, not EVALSHA: no NOSCRIPT after a restart.
        with self.client.pipeline(transaction=True) as pipe:
            pipe.eval(_GATE, len(keys), *keys, *args)
            if then is not None:
                then(pipe)
            answer = pipe.execute()[0]
        outcome, detail = (x.decode() if isinstance(x, bytes) else x for x in answer)
        if outcome == "ok":
            return Verdict(JobStatus.QUEUED)
        if outcome == "duplicate":
            return Verdict(JobStatus.DUPLICATE, "the same delivery was already handled", detail)
        if outcome == "suppressed":
            return Verdict(JobStatus.SUPPRESSED, f"rule disabled: {detail}")
        if outcome == "held":
            return Verdict(JobStatus.HELD, f"remediation is paused: {detail}")
        if outcome == "once_within":
            return Verdict(
                JobStatus.THROTTLED,
                f"once_within {spec.once_within:g}s: a job for key {key!r} ran already",
                detail,
            )
        if outcome == "coalesced":
            return Verdict(JobStatus.COALESCED, f"a job for key {key!r} is already pending", detail)
        if outcome == "max_runs":
            return Verdict(
                JobStatus.THROTTLED, f"max_runs: {rule_max} per {rule_per:g}s reached for rule {rule!r}"
            )
        return Verdict(JobStatus.THROTTLED, f"tier cap: {tier_max} per {tier_per:g}s reached on {spec.tier}")

    def preview(self, spec: JobSpec, subject: Subject) -> Verdict:
        """What decide would say for this job right now, writing nothing (`rules test`)."""
        return self.decide(spec, subject, "(preview)", reserve=False, active_ttl=1, peek=True)
