"""The canary's counter: each verified job of a rule in canary counts towards its promotion,
a failed or ineffective one resets the count, a promoted rule whose breaker opens goes back
to canary (see remediator.rules.rollout). Remote: it writes to Redis."""

from __future__ import annotations

from remediator.jobs import rollouts
from remediator.lifecycle import Event, EventKind, Listener
from remediator.rules import Rule
from remediator.rules.rollout import PROMOTED, after_outcome, rule_hash

LOCK_SECONDS = 10
"""How long one rule's rollout is held while an outcome moves it (outcomes may arrive at once)."""


class RolloutCounter(Listener):
    """Moves canary rules' rollouts with their jobs' outcomes."""

    name = "rollout"
    remote = True

    def accepts(self, event: Event) -> bool:
        """Outcomes of jobs that ran, and breakers opening, of rules with a rollout."""
        rule = self._rule(event.rule or (event.job.rule if event.job else None))
        if rule is None or rule.rollout is None:
            return False
        return event.kind is EventKind.BREAKER_OPENED or (event.job is not None and event.job.attempts > 0)

    def _rule(self, name: str | None) -> Rule | None:
        rules = self.ctx.current_rules()
        if rules is None or name is None:
            return None
        return next((r for r in rules.rules if r.name == name), None)

    def _move(self, event: Event, outcome: str) -> str | None:
        name = event.rule or (event.job.rule if event.job else None)
        rule = self._rule(name)
        if rule is None or rule.rollout is None or name is None:
            return None
        key = rule_hash(rule.match.model_dump(mode="json"), rule.job.model_dump(mode="json"))
        client = self.ctx.store.client
        with client.lock(
            f"remediator:rollout-lock:{name}", timeout=LOCK_SECONDS, blocking_timeout=LOCK_SECONDS
        ):
            before = rollouts.current(client, name, key)
            after, what = after_outcome(before, outcome, rule.rollout.promote_after, rule.rollout.promote)
            job_id = event.job.id if event.job else None
            rollouts.save(client, name, key, after, what, job=job_id)
        if self.ctx.emit is not None and (before.stage == PROMOTED) != (after.stage == PROMOTED):
            kind = EventKind.RULE_PROMOTED if after.stage == PROMOTED else EventKind.RULE_DEMOTED
            self.ctx.emit(Event(kind=kind, rule=name, tier=rule.job.tier, detail={"reason": what}))
        return what

    def on_verified(self, event: Event) -> str | None:
        """Count a fix that held."""
        return self._move(event, "verified")

    def on_failed(self, event: Event) -> str | None:
        """Reset the count."""
        return self._move(event, "failed")

    def on_ineffective(self, event: Event) -> str | None:
        """Reset the count."""
        return self._move(event, "ineffective")

    def on_breaker_opened(self, event: Event) -> str | None:
        """A promoted rule goes back to canary."""
        return self._move(event, "breaker_opened")
