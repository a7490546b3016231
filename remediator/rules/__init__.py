"""Declarative rules: a YAML file that maps Sentry issues to remediation jobs."""

from remediator.rules.engine import JobSpec, needs_deploy, plan
from remediator.rules.loader import load_rules, parse_rules
from remediator.rules.model import Rule, RuleSet

__all__ = ["JobSpec", "Rule", "RuleSet", "load_rules", "needs_deploy", "parse_rules", "plan"]
