"""Matching a subject against rules and planning the jobs to submit. Pure: no I/O."""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from remediator.defaults import (
    BREAKER_AFTER,
    CLASS_TO_REDIS_PRIORITY,
    DEDUP_WINDOW_SECONDS,
    VERIFY_AFTER_SECONDS,
    PriorityClass,
    queue_for,
)
from remediator.payloads import Subject
from remediator.payloads.fields import FILLED, TEXT_FIELDS
from remediator.rules.index import RuleIndex
from remediator.rules.model import Condition, Match, Rule, RuleSet
from remediator.rules.rollout import rule_hash
from remediator.rules.templating import TemplateError, names_used, render

_NOTHING: frozenset[str] = frozenset()
ANY_FILLED = frozenset().union(*FILLED.values())
"""Every field some lookup can fill, for some resource."""


@dataclass(frozen=True)
class JobSpec:
    """A job a rule asks for: everything needed to submit it, params already rendered."""

    rule: str
    script: str
    tier: str
    priority_class: PriorityClass
    namespace: str
    params: dict[str, Any] = field(default_factory=dict)
    class_reason: str | None = None
    """Why the job has its class, when the rule computes it from the damage."""
    release_note: str | None = None
    """For a rule that matched on the deploy: which release began it, deployed when, by whom."""
    time_limit: int | None = None
    """The rule's hard time limit, if it lowers the script's."""
    verify_after: float = VERIFY_AFTER_SECONDS
    verification: str | None = None
    """The rule's verification strategy; None: the script's own."""
    resolve_issue: bool = True
    key: str = ""
    """What once_within and concurrency count per (the rule's rendered key)."""
    dedup_window: float = DEDUP_WINDOW_SECONDS
    once_within: float | None = None
    max_runs: tuple[int, float] | None = None
    breaker_after: int = BREAKER_AFTER
    approval: bool = False
    approvers: int | None = None
    """How many different people approve, when the rule says; else 1, or 2 for the classes
    of REMEDIATOR_TWO_PERSON_CLASSES on the approval tiers (the dispatcher decides)."""
    dry_run: bool = False
    settle: float | str | None = None
    """Seconds to wait before the job runs, `auto` (learned per rule), or None."""
    settle_max: float = 900.0
    rollout: tuple[int, str, str] | None = None
    """For a rule in canary: (promote_after, promote, the hash of its match and job)."""
    render_error: str | None = None
    """Set when the params could not be rendered; such a job is recorded, never run."""

    @property
    def queue(self) -> str:
        """The tier's queue."""
        return queue_for(self.tier)

    @property
    def priority(self) -> int:
        """The broker priority of the job's class."""
        return CLASS_TO_REDIS_PRIORITY[self.priority_class]


TextTest = Callable[[str], bool]


@dataclass(frozen=True)
class CompiledMatch:
    """A rule's match as plain functions: built once per rule set, tried per webhook."""

    actions: dict[str, frozenset[str]]
    """Per resource the rule answers, the actions it answers."""
    texts: tuple[tuple[str, TextTest], ...]
    exception_type: TextTest | None
    tags: tuple[tuple[str, TextTest], ...]
    new_in_latest_deploy: bool | None = None
    deployed_within: float | None = None

    def __call__(self, subject: Subject) -> bool:
        if not self.apart_from_deploy(subject):
            return False
        if self.new_in_latest_deploy is not None or self.deployed_within is not None:
            return _deploy_holds(subject, self.new_in_latest_deploy, self.deployed_within)
        return True

    def pending(self, subject: Subject, unknown: frozenset[str]) -> frozenset[str] | None:
        """None when a test on what the subject has fails; else the fields of `unknown`
        (empty in the subject, and a lookup could fill them) whose tests wait for it."""
        actions = self.actions.get(subject.resource)
        if actions is None or subject.action not in actions:
            return None
        left: set[str] = set()
        for name, test in self.texts:
            if name in unknown:
                left.add(name)
            elif not test(getattr(subject, name)):
                return None
        if self.exception_type is not None and not any(map(self.exception_type, subject.exception_types)):
            return None
        for key, test in self.tags:
            value = subject.tags.get(key)
            if value is None and "tags" in unknown:
                left.add("tags")
            elif value is None or not test(value):
                return None
        return frozenset(left)

    def apart_from_deploy(self, subject: Subject) -> bool:
        """Every test but the deploy's (which needs a lookup) passes."""
        return self.pending(subject, _NOTHING) is not None


def _deploy_holds(subject: Subject, new_in_latest: bool | None, within: float | None) -> bool:
    """The deploy tests, on what the adapter looked up (nothing looked up: they fail)."""
    deploy = subject.deploy
    if deploy is None or deploy.release != subject.release:
        return False
    if new_in_latest is not None and deploy.latest != new_in_latest:
        return False
    return within is None or deploy.age <= within


def _text_test(cond: Condition) -> TextTest:
    if cond.equals is not None:
        return cond.equals.__eq__
    if cond.contains is not None:
        return _contains(cond.contains)
    if cond.regex is not None:
        search = re.compile(cond.regex).search
        return lambda text: search(text) is not None
    return frozenset(cond.in_ or ()).__contains__


def _contains(needle: str) -> TextTest:
    return lambda text: needle in text


def compile_match(match: Match) -> CompiledMatch:
    """Turn a rule's match into functions (done once when rules load)."""
    return CompiledMatch(
        actions={r: frozenset(match.actions_for(r)) for r in match.resource},
        texts=tuple((name, _text_test(c)) for name in TEXT_FIELDS if (c := getattr(match, name))),
        exception_type=_text_test(match.exception_type) if match.exception_type else None,
        tags=tuple((key, _text_test(c)) for key, c in match.tags.items()),
        new_in_latest_deploy=match.new_in_latest_deploy,
        deployed_within=match.deployed_within,
    )


@dataclass(frozen=True)
class Lookups:
    """What must be looked up beyond the payload for a subject."""

    deploy: bool = False
    """The release's deploy (a rule matches on it)."""
    damage: bool = False
    """The issue's users and events (a rule computes its class from them)."""
    rate: bool = False
    """The issue's events this hour (a computed class reads them)."""
    fields: frozenset[str] = _NOTHING
    """Subject fields the body left empty that a rule tests or its templates read (see
    `payloads.fields.FILLED`: an issue's environment and tags, an event's project slug...)."""

    def __bool__(self) -> bool:
        return self.deploy or self.damage or self.rate or bool(self.fields)


def unknown_fields(subject: Subject) -> frozenset[str]:
    """The fields a lookup could fill for this subject because its body left them empty."""
    fillable = FILLED.get(subject.resource, _NOTHING)
    return frozenset(
        name for name in fillable if not (subject.tags if name == "tags" else getattr(subject, name, "x"))
    )


def lookups(rules: RuleSet, subject: Subject) -> Lookups:
    """What must be looked up beyond the payload for this subject: only for the rules that
    ask (a deploy test, a computed class, a test or template on a field the body lacks)
    and whose other tests it passes; most webhooks of a rule set that asks nothing cost
    one dict lookup."""
    ready = compiled(rules)
    unknown = unknown_fields(subject)
    index = ready.lookup_index.get(subject.resource)
    if index is None:
        return Lookups()
    deploy = damage = rate = False
    fields: set[str] = set()
    for position in index.candidates(subject):
        rule, match, wants = ready.asking[position]
        pending = match.pending(subject, unknown)
        if pending is None:
            continue
        fields |= pending | (wants & unknown)
        deploy = deploy or rule.match.needs_deploy
        if rule.job.class_by is not None:
            damage, rate = True, rate or rule.job.class_by.wants_rate
    return Lookups(deploy, damage, rate, frozenset(fields))


@dataclass(frozen=True)
class Compiled:
    """A rule set ready to match: its enabled rules with their compiled matches, in file
    order, and the index that says which of them a subject can match at all."""

    rules: list[tuple[Rule, CompiledMatch]]
    index: RuleIndex
    asking: list[tuple[Rule, CompiledMatch, frozenset[str]]] = field(default_factory=list)
    """The rules that may need something looked up (a deploy test, a computed class, a
    field a lookup fills), each with the fillable fields its templates read."""
    lookup_index: dict[str, RuleIndex] = field(default_factory=dict)
    """Per resource, the asking rules indexed by the tests on what that resource's body
    always carries (a test on a field a lookup fills cannot narrow them before it)."""


def _asking(rule: Rule) -> frozenset[str] | None:
    """The fillable fields a rule's templates read, when the rule may need a lookup at all."""
    wants = names_used([rule.job.params, rule.key]) & ANY_FILLED
    if rule.rollout is not None:
        wants |= frozenset({"environment"}) & ANY_FILLED  # a canary decides by the environment
    if rule.match.needs_deploy or rule.job.class_by is not None or wants or rule.match.tested() & ANY_FILLED:
        return wants
    return None


_COMPILED: OrderedDict[int, tuple[RuleSet, Compiled]] = OrderedDict()
_COMPILED_KEEP = 8


def compiled(rules: RuleSet) -> Compiled:
    """The rule set compiled and indexed (cached per rule set)."""
    entry = _COMPILED.get(id(rules))
    if entry is None or entry[0] is not rules:
        enabled = [r for r in rules.rules if r.enabled]
        matches = [(r, compile_match(r.match)) for r in enabled]
        asking = [(r, m, wants) for r, m in matches if (wants := _asking(r)) is not None]
        ready = Compiled(
            matches,
            RuleIndex.build(r.match for r in enabled),
            asking=asking,
            lookup_index={
                resource: RuleIndex.build((r.match for r, _, _ in asking), unknown=filled)
                for resource, filled in FILLED.items()
            },
        )
        entry = (rules, ready)
        _COMPILED[id(rules)] = entry
        while len(_COMPILED) > _COMPILED_KEEP:
            _COMPILED.popitem(last=False)
    return entry[1]


def matching_rules(rules: RuleSet, subject: Subject, indexed: bool = True) -> list[Rule]:
    """The enabled rules that apply, in file order, stopping after the first that doesn't
    say `continue: true`. `indexed=False` tries every rule (the index must not change the
    answer; the tests compare both)."""
    ready = compiled(rules)
    positions = ready.index.candidates(subject) if indexed else range(len(ready.rules))
    found: list[Rule] = []
    for position in positions:
        rule, match = ready.rules[position]
        if match(subject):
            found.append(rule)
            if not rule.continue_matching:
                break
    return found


def job_for(rule: Rule, subject: Subject) -> JobSpec:
    """The job a matching rule submits for this subject."""
    job = rule.job
    error = None
    try:
        params = render(job.params, subject.context)
        key = str(render(rule.key, subject.context))
    except (TemplateError, ArithmeticError, ValueError, TypeError) as exc:
        params, key = {}, ""
        error = f"params could not be rendered: {type(exc).__name__}: {exc}"
    release_note = None
    if rule.match.needs_deploy and subject.deploy is not None:
        d = subject.deploy
        when = datetime.fromtimestamp(d.finished_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
        release_note = f"began with release {d.release}, deployed to {d.environment} at {when}" + (
            f" by {d.name}" if d.name else ""
        )
    priority_class, class_reason = job.priority_class, None
    if job.class_by is not None:
        priority_class, class_reason = job.class_by.choose(
            subject.users, subject.events, subject.events_last_hour
        )
    return JobSpec(
        rule=rule.name,
        script=job.script,
        tier=job.tier,
        priority_class=priority_class,
        class_reason=class_reason,
        release_note=release_note,
        namespace=job.namespace,
        params=params,
        time_limit=job.time_limit,
        verify_after=rule.verify_after,
        verification=rule.verify,
        resolve_issue=rule.resolve_issue,
        key=key,
        dedup_window=rule.dedup_window,
        once_within=rule.once_within,
        max_runs=(rule.max_runs.count, rule.max_runs.per) if rule.max_runs else None,
        breaker_after=rule.breaker_after,
        settle=rule.settle,
        settle_max=rule.settle_max,
        rollout=(
            (
                rule.rollout.promote_after,
                rule.rollout.promote,
                rule_hash(rule.match.model_dump(mode="json"), rule.job.model_dump(mode="json")),
            )
            if rule.rollout
            else None
        ),
        approval=rule.needs_approval(priority_class),
        approvers=rule.approvers,
        dry_run=rule.dry_run,
        render_error=error,
    )


def plan(rules: RuleSet, subject: Subject) -> list[JobSpec]:
    """Every job the rules ask for, for one webhook subject."""
    return [job_for(rule, subject) for rule in matching_rules(rules, subject)]
