"""What every process builds from the settings in the same way: the validated rule file."""

from __future__ import annotations

import os
from pathlib import Path

from remediator.lifecycle import EventKind
from remediator.listeners import strategies
from remediator.redaction import register_secret
from remediator.remediation_scripts import registry
from remediator.rules import RuleSet, load_rules
from remediator.settings import Settings


def configured_rules(settings: Settings, path: Path | None = None) -> RuleSet:
    """The rule file (REMEDIATOR_RULES_FILE unless given), validated against the scripts,
    tiers, verification strategies, approval tiers and event kinds this installation has;
    `${VAR}` in its notify section reads this process's environment, and the channels'
    credentials are registered as secrets (never logged, shown or sent elsewhere)."""
    rules = load_rules(
        path or settings.rules_file,
        scripts=registry(),
        tiers=settings.tiers,
        verifications=strategies(),
        approval_tiers=settings.approval_tiers,
        min_verify_after=settings.min_verify_after,
        events=[kind.value for kind in EventKind],
        environ=os.environ,
    )
    for secret in rules.notify.secrets():
        register_secret(secret)
    return rules
