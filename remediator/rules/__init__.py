"""Declarative rules: a YAML file that maps Sentry issues to remediation jobs."""

from remediator.rules.engine import JobSpec, lookups, plan
from remediator.rules.loader import load_rules, parse_rules
from remediator.rules.model import Rule, RuleSet

__all__ = ["JobSpec", "Rule", "RuleSet", "load_rules", "lookups", "parse_rules", "plan"]
