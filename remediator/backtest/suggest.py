"""`remediator rules suggest`: rules for the issues no rule matched, each proven by the
backtest's own replay before it is proposed.

The unmatched issues of the window are grouped by what a rule can test and a person would
call "the same problem": category and type, exception type, the culprit's module and the
title with its numbers, ids and quoted values taken out. A group of at least `min_issues`
gets the narrowest match all its issues share (every one of those fields, the title as a
pattern), a conservative job for its category (an analysis for errors and performance
issues; for cron and uptime, a restart that first checks the service's health, its URLs to
be filled in), `approval: true` and `dry_run: true`. The proposal is then replayed with the
whole window: it is kept only when it matches exactly its group's deliveries, none outside.
Nothing is ever written to the rule file."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml

from remediator.backtest.history import Delivery
from remediator.backtest.simulate import simulate
from remediator.errors import PayloadError, RemediatorError
from remediator.payloads import Subject, parse_webhook, subject_of
from remediator.rules import RuleSet

RESTART_CATEGORIES = frozenset({"cron", "uptime"})
"""Categories whose suggested job is a health-checked restart rather than an analysis."""

PLACEHOLDER_HOST = "https://CHANGE-ME.invalid"
"""Where a suggested restart points until a person fills in the service's URLs (`.invalid`
never resolves: a job that ran it unchanged would fail, not restart anything)."""

_QUOTED = re.compile(r"""'[^']*'|"[^"]*"|`[^`]*`""")
_ID = re.compile(
    r"\b(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|0x[0-9a-f]+|[0-9a-f]{12,})\b", re.I
)
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_PLACEHOLDERS = re.compile(r"<value>|<id>|<n>")


def normalised_title(title: str) -> str:
    """The title with what changes from one occurrence to the next taken out: quoted values
    (`<value>`), ids and hashes (`<id>`), numbers (`<n>`)."""
    title = _QUOTED.sub("<value>", title)
    title = _ID.sub("<id>", title)
    return _NUMBER.sub("<n>", title).strip()


def culprit_module(culprit: str) -> str:
    """The culprit's module: `app.db.pool in acquire` → `app.db.pool`."""
    return culprit.split(" in ", 1)[0].strip()


GroupKey = tuple[str, str, str, str, str]
"""(category, type, exception type, culprit's module, normalised title)."""


def group_key(subject: Subject) -> GroupKey:
    """What makes two unmatched issues the same problem."""
    return (
        subject.issue_category,
        subject.issue_type,
        next(iter(subject.exception_types), ""),
        culprit_module(subject.culprit),
        normalised_title(subject.title),
    )


def title_pattern(normalised: str) -> str:
    """A regex that matches every title with this normalised form (and little else)."""
    parts = [_escape(part) for part in _PLACEHOLDERS.split(normalised)]
    holes = _PLACEHOLDERS.findall(normalised)
    pattern = "^" + parts[0]
    for hole, part in zip(holes, parts[1:], strict=True):
        pattern += (r"\d+(?:\.\d+)?" if hole == "<n>" else ".+?") + part
    return pattern + "$"


def _escape(text: str) -> str:
    """re.escape, leaving spaces alone (they need none, and the YAML reads better)."""
    return re.escape(text).replace("\\ ", " ")


@dataclass
class Group:
    """Unmatched deliveries that are the same problem."""

    key: GroupKey
    deliveries: list[Delivery] = field(default_factory=list)
    subjects: list[Subject] = field(default_factory=list)

    @property
    def sources(self) -> set[str]:
        return {d.source for d in self.deliveries}


@dataclass(frozen=True)
class Suggestion:
    """A proposed rule with its proof."""

    name: str
    rule: dict[str, Any]
    issues: int
    """How many of the window's unmatched issues it covers (its group)."""
    matched: int
    """Deliveries of the window its replay matched (all its group's, none outside)."""
    examples: list[str]
    """A few of its issues' titles (for one learned from analyses: the root cause)."""
    comment: str
    kind: str = "history"
    """`history` (the unmatched issues of the window, proven by its replay) or `analyses`
    (a fix that held for analysed issues sharing a root cause)."""

    def document(self) -> dict[str, Any]:
        """The suggestion as `--json` and the console's list give it."""
        return {
            "name": self.name,
            "kind": self.kind,
            "issues": self.issues,
            "matched": self.matched,
            "examples": self.examples,
            "rule": self.rule,
            "yaml": self.yaml,
        }

    @property
    def yaml(self) -> str:
        """The rule as the rule file's YAML, under a comment saying where it came from."""
        body = yaml.safe_dump([self.rule], sort_keys=False, allow_unicode=True, width=100)
        lines = ["  " + line if line else line for line in body.splitlines()]
        return "\n".join(f"  # {line}" for line in self.comment.splitlines()) + "\n" + "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Refusal:
    """A group large enough whose rule could not be narrowed to it."""

    key: GroupKey
    issues: int
    reason: str


def subjects_of(deliveries: Iterable[Delivery]) -> list[tuple[Delivery, Subject]]:
    """The deliveries that parse, with their subjects."""
    found = []
    for delivery in deliveries:
        try:
            found.append(
                (delivery, subject_of(delivery.resource, parse_webhook(delivery.resource, delivery.body)))
            )
        except PayloadError:
            continue
    return found


def unmatched_groups(
    rules: RuleSet, deliveries: list[Delivery], tier_caps: dict[str, tuple[int, float]]
) -> list[Group]:
    """The window's deliveries no rule matched, grouped, largest first."""
    unmatched = {
        d.delivery.source
        for d in simulate(rules, deliveries, tier_caps)
        if d.rule is None and d.reason == "no rule matched"
    }
    groups: dict[GroupKey, Group] = {}
    for delivery, subject in subjects_of(deliveries):
        if delivery.source in unmatched:
            group = groups.setdefault(group_key(subject), Group(group_key(subject)))
            group.deliveries.append(delivery)
            group.subjects.append(subject)
    return sorted(groups.values(), key=lambda g: (-len(g.sources), g.key))


def proposed_rule(group: Group, taken: set[str]) -> dict[str, Any]:
    """The narrowest rule for a group: every field its issues share, a conservative job."""
    category, issue_type, exception, module, title = group.key
    match: dict[str, Any] = {}
    resources = sorted({d.resource for d in group.deliveries})
    match["resource"] = resources
    if category:
        match["issue_category"] = {"equals": category}
    if issue_type and issue_type != category:
        match["issue_type"] = {"equals": issue_type}
    if exception:
        match["exception_type"] = {"equals": exception}
    projects = {s.project for s in group.subjects}
    if len(projects) == 1 and "" not in projects:
        match["project"] = {"equals": projects.pop()}
    if module:
        match["culprit"] = {"contains": module}
    if title:
        match["title"] = {"regex": title_pattern(title)}
    if category in RESTART_CATEGORIES:
        job = {
            "script": "restart-service",
            "tier": "prod",
            "class": "B",
            "params": {
                "url": f"{PLACEHOLDER_HOST}/restart",
                "health_url": f"{PLACEHOLDER_HOST}/health",
                "check_first": True,
            },
        }
    else:
        job = {"script": "analyze-production-error", "tier": "nonprod", "class": "C"}
    return {
        "name": _name(group, taken),
        "description": f"Suggested for {len(group.sources)} issues like: {group.subjects[0].title[:120]}",
        "approval": True,
        "dry_run": True,
        "match": match,
        "job": job,
    }


def _name(group: Group, taken: set[str]) -> str:
    category, issue_type, exception, module, _ = group.key
    words = [category or "issue", module or issue_type, exception if exception not in ("Error", "") else ""]
    slug = re.sub(r"[^a-z0-9]+", "-", "-".join(w for w in words if w).lower()).strip("-")[:60] or "issues"
    name = f"suggested-{slug}"
    if name in taken:
        name += "-" + hashlib.sha256(repr(group.key).encode()).hexdigest()[:6]
    taken.add(name)
    return name


def suggest(
    rules: RuleSet,
    deliveries: list[Delivery],
    load: Callable[[str], RuleSet],
    tier_caps: dict[str, tuple[int, float]],
    min_issues: int = 5,
    window: str = "",
) -> tuple[list[Suggestion], list[Refusal]]:
    """The rules the unmatched groups of at least `min_issues` call for, each kept only when
    its replay over the whole window matches its group and nothing else; and the groups
    refused, with why. `load` validates rule-file text as `rules check` does."""
    groups = [g for g in unmatched_groups(rules, deliveries, tier_caps) if len(g.sources) >= min_issues]
    taken = {rule.name for rule in rules.rules}
    proposals = [(group, proposed_rule(group, taken)) for group in groups]
    if not proposals:
        return [], []
    text = yaml.safe_dump({"rules": [rule for _, rule in proposals]}, sort_keys=False)
    try:
        proposed = load(text)
    except RemediatorError as exc:
        return [], [
            Refusal(g.key, len(g.sources), f"the proposal does not validate: {exc}") for g, _ in proposals
        ]
    matched: dict[str, set[str]] = {}
    for decision in simulate(proposed, deliveries, tier_caps, dry_run=True):
        if decision.rule is not None:
            matched.setdefault(decision.rule, set()).add(decision.delivery.source)
    suggestions, refusals = [], []
    for group, rule in proposals:
        hits = matched.get(rule["name"], set())
        outside = hits - group.sources
        if outside or hits != group.sources:
            reason = (
                f"its narrowest match also matches {len(outside)} other issue(s) in the window"
                if outside
                else f"its match misses {len(group.sources - hits)} of the group's issues"
            )
            refusals.append(Refusal(group.key, len(group.sources), reason))
            continue
        comment = (
            f"Suggested by `remediator rules suggest`{' over ' + window if window else ''}: "
            f"{len(group.sources)} issues no rule matched.\n"
            f"Replayed over the window: matches those {len(hits)} and no other. "
            "It asks for approval and only dry-runs until you change that."
        )
        if rule["job"]["script"] == "restart-service":
            comment += f"\nFill in the service's restart and health URLs (now {PLACEHOLDER_HOST})."
        examples = list(dict.fromkeys(s.title for s in group.subjects))[:3]
        suggestions.append(Suggestion(rule["name"], rule, len(group.sources), len(hits), examples, comment))
    return suggestions, refusals


def from_analyses(learned: list[Any]) -> list[Suggestion]:
    """Rules learned from analyses (backtest.from_memory) as suggestions."""
    return [
        Suggestion(
            name=str(item.rule["name"]),
            rule=item.rule,
            issues=item.issues,
            matched=0,
            examples=[item.root_cause[:200]],
            comment=(
                f"Suggested by `remediator rules suggest` from analyses: {item.issues} analysed issues "
                f"shared this root cause, and the fix of job {item.fix_job} held (verified).\n"
                "It runs that job's script with its params and asks for approval."
                + (
                    f"\nIts secret params are left out: add {', '.join(item.left_out)} yourself."
                    if item.left_out
                    else ""
                )
            ),
            kind="analyses",
        )
        for item in learned
    ]


def render(suggestions: list[Suggestion], refusals: list[Refusal], min_issues: int) -> str:
    """The suggestions as text: each rule's YAML under its evidence, then the refusals."""
    if not suggestions and not refusals:
        return f"No group of {min_issues} or more unmatched issues in the window: nothing to suggest."
    lines = []
    for s in suggestions:
        evidence = "root cause: " if s.kind == "analyses" else "e.g. "
        lines += [f"# {s.name}: {s.issues} issues, {evidence}" + "; ".join(s.examples), s.yaml]
    for r in refusals:
        what = " / ".join(part for part in r.key if part)
        lines.append(f"# not suggested ({r.issues} issues: {what}): {r.reason}")
    return "\n".join(lines).rstrip() + "\n"
