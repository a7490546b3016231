"""What every process builds from the settings in the same way: the validated rule file."""

from __future__ import annotations

from pathlib import Path

from remediator.listeners import strategies
from remediator.remediation_scripts import registry
from remediator.rules import RuleSet, load_rules
from remediator.settings import Settings


def configured_rules(settings: Settings, path: Path | None = None) -> RuleSet:
    """The rule file (REMEDIATOR_RULES_FILE unless given), validated against the scripts,
    tiers, verification strategies and approval tiers this installation has."""
    return load_rules(
        path or settings.rules_file,
        scripts=registry(),
        tiers=settings.tiers,
        verifications=strategies(),
        approval_tiers=settings.approval_tiers,
        min_verify_after=settings.min_verify_after,
    )
