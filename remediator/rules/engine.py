"""Matching a subject against rules and planning the jobs to submit. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
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
from remediator.rules.model import Condition, Match, Rule, RuleSet
from remediator.rules.templating import TemplateError, render


@dataclass(frozen=True)
class JobSpec:
    """A job a rule asks for: everything needed to submit it, params already rendered."""

    rule: str
    script: str
    tier: str
    priority_class: PriorityClass
    namespace: str
    params: dict[str, Any] = field(default_factory=dict)
    time_limit: int | None = None
    """The rule's hard time limit, if it lowers the script's."""
    verify_after: float = VERIFY_AFTER_SECONDS
    resolve_issue: bool = True
    key: str = ""
    """What once_within and concurrency count per (the rule's rendered key)."""
    dedup_window: float = DEDUP_WINDOW_SECONDS
    once_within: float | None = None
    max_runs: tuple[int, float] | None = None
    breaker_after: int = BREAKER_AFTER
    approval: bool = False
    dry_run: bool = False
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


def matches(match: Match, subject: Subject) -> bool:
    """Whether every test of a rule's match passes for the subject."""
    if subject.resource not in match.resource:
        return False
    if subject.action not in match.actions_for(subject.resource):
        return False
    texts: tuple[tuple[Condition | None, str], ...] = (
        (match.title, subject.title),
        (match.culprit, subject.culprit),
        (match.level, subject.level),
        (match.environment, subject.environment),
        (match.project, subject.project),
    )
    if not all(cond.test(text) for cond, text in texts if cond is not None):
        return False
    exc_cond = match.exception_type
    if exc_cond is not None and not any(exc_cond.test(t) for t in subject.exception_types):
        return False
    for key, cond in match.tags.items():
        value = subject.tags.get(key)
        if value is None or not cond.test(value):
            return False
    return True


def matching_rules(rules: RuleSet, subject: Subject) -> list[Rule]:
    """The enabled rules that apply, in file order, stopping after the first that doesn't
    say `continue: true`."""
    found: list[Rule] = []
    for rule in rules.rules:
        if rule.enabled and matches(rule.match, subject):
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
    return JobSpec(
        rule=rule.name,
        script=job.script,
        tier=job.tier,
        priority_class=job.priority_class,
        namespace=job.namespace,
        params=params,
        time_limit=job.time_limit,
        verify_after=rule.verify_after,
        resolve_issue=rule.resolve_issue,
        key=key,
        dedup_window=rule.dedup_window,
        once_within=rule.once_within,
        max_runs=(rule.max_runs.count, rule.max_runs.per) if rule.max_runs else None,
        breaker_after=rule.breaker_after,
        approval=rule.needs_approval(),
        dry_run=rule.dry_run,
        render_error=error,
    )


def plan(rules: RuleSet, subject: Subject) -> list[JobSpec]:
    """Every job the rules ask for, for one webhook subject."""
    return [job_for(rule, subject) for rule in matching_rules(rules, subject)]
