"""The health URLs the rules act on: every `health_url` in a rule's job params (the param
the shipped scripts declare for it). Pure: templated values are listed, never probed."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from remediator.rules import RuleSet

HEALTH_PARAMS = ("health_url",)
"""Params that name a health URL."""


@dataclass(frozen=True)
class Target:
    """One URL to probe, and the rules that name it."""

    url: str
    rules: tuple[str, ...]
    templated: bool = False
    """The value is a template filled per issue: nothing to probe before a job runs."""


def health_targets(rules: RuleSet) -> list[Target]:
    """Each distinct health URL of the rules, in the rule file's order."""
    found: dict[str, list[str]] = {}
    for rule in rules.rules:
        for name in HEALTH_PARAMS:
            value = rule.job.params.get(name)
            if isinstance(value, str) and value:
                found.setdefault(value, []).append(rule.name)
    return [
        Target(url, tuple(dict.fromkeys(names)), templated="{{" in url or "{%" in url)
        for url, names in found.items()
    ]


def shown(url: str) -> str:
    """A URL as the page shows it: credentials and query values left out (a health URL may
    carry a token)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = ("[credentials]@" if parts.username or parts.password else "") + host
    if parts.port:
        netloc += f":{parts.port}"
    query = "&".join(f"{pair.partition('=')[0]}=…" for pair in parts.query.split("&") if pair)
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))
