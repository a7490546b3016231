"""What the web process holds for its lifetime, and the accessor blueprints use to reach it."""

from __future__ import annotations

from dataclasses import dataclass

from celery import Celery
from flask import current_app

from remediator.audit.trail import AuditTrail
from remediator.dispatch import Dispatcher
from remediator.intake.process import Intake
from remediator.intake.spool import Drainer, Spool
from remediator.issue_log.store import IssueLog
from remediator.jobs import JobStore
from remediator.lifecycle import Lifecycle
from remediator.live_rules import LiveRules
from remediator.people.directory import Directory
from remediator.people.sessions import Sessions
from remediator.people.throttle import SignInThrottle
from remediator.rules import RuleSet
from remediator.settings import Settings
from remediator.trends.store import WebhookCounts

EXTENSION = "remediator"
"""The key of the runtime in `app.extensions`."""


@dataclass
class Runtime:
    """The pieces one web process builds at start."""

    settings: Settings
    live: LiveRules
    store: JobStore
    lifecycle: Lifecycle
    dispatcher: Dispatcher
    intake: Intake
    spool: Spool
    drainer: Drainer
    celery: Celery
    issues: IssueLog
    """What the webhooks said of each issue (the issues pages)."""
    webhook_counts: WebhookCounts
    """Webhooks by outcome for the trends, added to Redis every few seconds."""
    audit: AuditTrail
    """Who did what (web/audit_hooks.py writes every action)."""
    people: Directory
    """The people and their tokens (session.py asks it who a token belongs to)."""
    sessions: Sessions
    """The console's server-side sessions."""
    throttle: SignInThrottle
    """Failed sign-ins per address and person."""

    @property
    def rules(self) -> RuleSet:
        """The rules as they are now (they reload when the file changes, or on SIGHUP)."""
        return self.live.current


def runtime() -> Runtime:
    """The current app's runtime."""
    rt: Runtime = current_app.extensions[EXTENSION]
    return rt
