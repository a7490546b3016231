"""What the analyses spend: tokens per UTC day against `REMEDIATOR_ANALYSIS_DAILY_TOKENS`,
all processes together (one Redis counter per day), and what a call cost at
`REMEDIATOR_LLM_PRICE_PER_1K_TOKENS`; and when each issue was last analysed, for a rule's
`reanalyze_after`."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from remediator.jobs.keys import SPENT_COST, SPENT_TOKENS, analysed_key, analysis_tokens_key, stats_key

COUNTER_TTL = 2 * 86400
"""A day's counter outlives its day (a job that started before midnight adds to it)."""


def day_of(now: float) -> str:
    """The UTC day of a moment, `YYYY-MM-DD`."""
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d")


def spent_today(redis: Any, now: float | None = None) -> int:
    """Tokens the analyses spent so far today (UTC)."""
    return int(redis.get(analysis_tokens_key(day_of(time.time() if now is None else now))) or 0)


def add_spend(redis: Any, rule: str, tokens: int, spent: float | None, now: float | None = None) -> int:
    """Count an analysis's tokens against today's budget and add them (and their cost, when
    priced) to its rule's totals, in one round trip; returns today's total."""
    key = analysis_tokens_key(day_of(time.time() if now is None else now))
    with redis.pipeline(transaction=True) as pipe:
        pipe.incrby(key, tokens)
        pipe.expire(key, COUNTER_TTL)
        pipe.hincrby(stats_key(rule), SPENT_TOKENS, tokens)
        if spent:
            pipe.hincrbyfloat(stats_key(rule), SPENT_COST, spent)
        total = pipe.execute()[0]
    return int(total)


def rule_spend(redis: Any, rules: list[str]) -> dict[str, dict[str, float]]:
    """What each rule's analyses spent so far: tokens and cost (0 where none)."""
    with redis.pipeline(transaction=False) as pipe:
        for rule in rules:
            pipe.hmget(stats_key(rule), SPENT_TOKENS, SPENT_COST)
        rows = pipe.execute()
    return {
        rule: {"tokens": int(float(tokens or 0)), "cost": round(float(spent or 0), 6)}
        for rule, (tokens, spent) in zip(rules, rows, strict=True)
    }


def cost(price: tuple[float, float] | None, prompt_tokens: int, completion_tokens: int) -> float | None:
    """What a call cost at (input, output) prices per 1,000 tokens; None without a price."""
    if price is None:
        return None
    return round(prompt_tokens / 1000 * price[0] + completion_tokens / 1000 * price[1], 6)


def analysed_at(redis: Any, issue_id: str) -> float | None:
    """When the issue was last analysed and commented, if it was within the retention."""
    value = redis.get(analysed_key(issue_id))
    return float(value) if value else None


def mark_analysed(redis: Any, issue_id: str, ttl_seconds: int, now: float | None = None) -> None:
    """Remember that the issue was analysed and commented now."""
    redis.set(analysed_key(issue_id), time.time() if now is None else now, ex=max(1, ttl_seconds))
