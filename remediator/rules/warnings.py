"""What `rules check` warns about in a valid rule file: tests a resource can never pass,
and tests that need a lookup in Sentry when none can be made. Pure."""

from __future__ import annotations

from remediator.payloads.fields import CARRIES, FILLED, TEXT_FIELDS, available
from remediator.rules.engine import compile_match
from remediator.rules.model import Rule, RuleSet


def _can_pass_empty(rule: Rule, name: str) -> bool:
    """Whether the rule's test on a field passes when the field is empty (a regex `.*`)."""
    if name not in TEXT_FIELDS:
        return False
    texts = dict(compile_match(rule.match).texts)
    return name in texts and texts[name]("")


def rule_warnings(ruleset: RuleSet, sentry_api: bool) -> list[str]:
    """One line per problem: a resource the rule answers whose webhooks never carry a
    field it tests (and no lookup fills it), or a field only a lookup fills when Sentry's
    API is not configured (`sentry_api` false)."""
    found: list[str] = []
    for rule in ruleset.rules:
        tested = sorted(n for n in rule.match.tested() if not _can_pass_empty(rule, n))
        never = {r: [n for n in tested if n not in available(r)] for r in rule.match.resource}
        hopeless = [r for r, names in never.items() if names]
        if hopeless and len(hopeless) == len(rule.match.resource):
            found.append(
                f"rule {rule.name!r} can never match: "
                + "; ".join(f"{r} webhooks never carry {', '.join(never[r])}" for r in hopeless)
            )
        elif hopeless:
            kept = [r for r in rule.match.resource if r not in hopeless]
            found.append(
                f"rule {rule.name!r}: "
                + "; ".join(f"{r} webhooks never carry {', '.join(never[r])}" for r in hopeless)
                + f", so it only matches {', '.join(kept)} (say match.resource: [{', '.join(kept)}])"
            )
        if sentry_api:
            continue
        looked_up = {
            r: [n for n in tested if n not in CARRIES.get(r, frozenset()) and n in FILLED.get(r, frozenset())]
            for r in rule.match.resource
            if r not in hopeless
        }
        needs = {r: names for r, names in looked_up.items() if names}
        if needs:
            found.append(
                f"rule {rule.name!r} tests "
                + "; ".join(f"{', '.join(names)} of {r} webhooks" for r, names in needs.items())
                + ", which only a lookup in Sentry fills: without REMEDIATOR_SENTRY_AUTH_TOKEN and "
                "REMEDIATOR_SENTRY_ORG those tests fail"
            )
        if rule.match.needs_deploy:
            found.append(
                f"rule {rule.name!r} tests the release's deploy, which needs Sentry's API "
                "(REMEDIATOR_SENTRY_AUTH_TOKEN and REMEDIATOR_SENTRY_ORG)"
            )
    return found
