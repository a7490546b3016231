"""Everything after the signature check, without Flask: parse, cancel, match, submit.

The web blueprint and the spool's drainer both call `Intake.process`, so a webhook spooled
while Redis was down takes exactly the path a live one takes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import redis

from remediator.defaults import CANCELLING_ACTIONS, SENTRY_RESOURCES_IGNORED
from remediator.dispatch import Dispatcher
from remediator.errors import BrokerUnavailable, PayloadError
from remediator.jobs import JobStatus
from remediator.payloads import MODELS, Subject, decode_json, parse_seer, parse_webhook, subject_of
from remediator.rules import RuleSet, lookups, plan
from remediator.rules.engine import Lookups

log = logging.getLogger(__name__)

Answer = tuple[dict[str, Any], int]
"""A JSON document and the HTTP status to answer with."""

Enrich = Callable[[Subject, Lookups], tuple[Subject, list[str]]]
"""Looks up what the rules ask beyond the payload: the subject with it, and what was not answered."""

Seen = Callable[[Subject], None]
"""Notes a verified webhook on the issue it speaks of (the issue log)."""

Defer = Callable[[str, bytes, list[str]], bool]
"""Called when a lookup went unanswered: True when the webhook's planning was handed on
(to a worker, which looks up again with time to wait), False to plan now without it."""


def error(reason: str, code: int) -> Answer:
    """An error answer."""
    return {"status": "error", "reason": reason}, code


def ignored(reason: str) -> Answer:
    """A verified webhook remediator deliberately does nothing about."""
    return {"status": "ignored", "reason": reason}, 200


class Intake:
    """Turns a verified webhook body into submitted jobs (or says why not)."""

    def __init__(
        self,
        rules: RuleSet | Callable[[], RuleSet],
        dispatcher: Dispatcher,
        app_id: str | None = None,
        enrich: Enrich | None = None,
        defer: Defer | None = None,
        seen: Seen | None = None,
    ) -> None:
        self.seen = seen
        """Notes each verified webhook on its issue, before anything else is decided."""
        self.enrich = enrich
        """Looks up what rules may ask beyond the payload (the release's deploy, the issue's
        users and events, an issue's environment, an event's project), only when some rule does."""
        self.defer = defer
        """What happens to a webhook whose lookups Sentry did not answer (None: plan without)."""
        self._rules = rules
        """The rule set, or what returns the current one (rules reload while running)."""
        self.dispatcher = dispatcher
        self.app_id = app_id
        """The integration's own id: webhooks caused by our own API calls are ignored."""

    @property
    def rules(self) -> RuleSet:
        """The rules to match against now."""
        return self._rules() if callable(self._rules) else self._rules

    def process(self, resource: str, body: bytes) -> Answer:
        """Process one verified body; raises BrokerUnavailable when Redis is down."""
        if not resource:
            return error("missing Sentry-Hook-Resource header", 400)
        if resource in SENTRY_RESOURCES_IGNORED:
            return ignored(f"resource '{resource}' is not acted on")
        if resource == "seer":
            return self._seer(body)
        if resource not in MODELS:
            return ignored(f"unknown resource '{resource}'")
        try:
            subject = subject_of(resource, parse_webhook(resource, decode_json(body)))
        except PayloadError as exc:
            return error(str(exc), 400)
        if self.seen is not None:
            try:
                self.seen(subject)
            except redis.RedisError as exc:
                raise BrokerUnavailable(f"broker unavailable: {exc}") from exc

        if self.app_id and subject.actor_type == "application" and subject.actor_id == self.app_id:
            return ignored("caused by remediator's own API call")

        rules = self.rules
        needs = lookups(rules, subject)
        if self.enrich is not None and needs:
            subject, unanswered = self.enrich(subject, needs)
            if unanswered and self.defer is not None and self.defer(resource, body, unanswered):
                log.info("webhook %s.%s: planning deferred: %s", resource, subject.action, unanswered)
                return {"status": "deferred", "reason": "; ".join(unanswered)}, 202
        try:
            cancelled = []
            if resource == "issue" and subject.action in CANCELLING_ACTIONS and subject.issue_id:
                reason = f"issue {subject.action} in Sentry before the job started"
                cancelled = self.dispatcher.cancel_for_issue(subject.issue_id, reason)
                if subject.action == "resolved":
                    self.dispatcher.issue_resolved(subject.issue_id)
            specs = plan(rules, subject)
            if not specs and cancelled:
                return {"status": "cancelled", "cancelled": cancelled}, 200
            if not specs:
                return ignored(f"no rule matched {resource}.{subject.action}")
            jobs = [self.dispatcher.submit(spec, subject) for spec in specs]
        except redis.RedisError as exc:
            raise BrokerUnavailable(f"broker unavailable: {exc}") from exc
        log.info("webhook %s.%s: %s", resource, subject.action, [(j.id, j.status.value) for j in jobs])
        if all(j.status == JobStatus.DUPLICATE for j in jobs):
            return {"status": "duplicate", "job": jobs[0].related_job}, 200
        return {"status": "accepted", "jobs": [j.summary() for j in jobs]}, 202

    def _seer(self, body: bytes) -> Answer:
        """A Seer Autofix stage: filed on the job whose run it is (or ignored)."""
        try:
            hook = parse_seer(decode_json(body))
        except PayloadError as exc:
            return error(str(exc), 400)
        run_id = str(hook.data.run_id)
        try:
            job_id = self.dispatcher.seer_progress(
                hook.action, run_id, hook._raw_data, str(hook.data.group_id)
            )
        except redis.RedisError as exc:
            raise BrokerUnavailable(f"broker unavailable: {exc}") from exc
        if job_id is None:
            return ignored(f"no job for seer run {run_id}")
        return {"status": "noted", "job": job_id, "action": hook.action}, 200
