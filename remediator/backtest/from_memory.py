"""Rules suggested by what analyses learned: when three or more analysed issues of the same
kind (project, exception type, culprit) share a root cause and one of their fixes was
verified, the job that fix was is proposed for the next such issue, approval on (see
remediator.analysis.memory for what is kept). Pure but for reading the records."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from remediator.analysis.memory import Memory
from remediator.jobs import Job
from remediator.remediation_scripts import secret_params_filtered

MIN_ISSUES = 3
"""Analysed issues that must share a root cause before its verified fix becomes a rule."""


def root_key(text: str) -> str:
    """A root cause compared loosely: lowercase words, numbers and punctuation out."""
    return " ".join(re.findall(r"[a-z]+", text.lower()))[:200]


@dataclass(frozen=True)
class Learned:
    """A verified fix that three or more analysed issues call for."""

    rule: dict[str, object]
    issues: int
    root_cause: str
    fix_job: str
    left_out: tuple[str, ...] = ()
    """The fix's params marked secret: never copied into a suggestion (add them by hand)."""


def learned_rules(
    memories: list[Memory], job_of: Callable[[str], Job | None], taken: set[str]
) -> list[Learned]:
    """The proposals: per (project, exception type, culprit, root cause) with MIN_ISSUES
    distinct issues and a verified fix whose job's record is still kept."""
    groups: dict[tuple[str, str, str, str], list[Memory]] = {}
    for memory in memories:
        sig = memory.signature
        groups.setdefault(
            (sig.project, sig.exception_type, sig.culprit, root_key(memory.root_cause)), []
        ).append(memory)
    found = []
    for (project, exception, culprit, _), members in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        issues = {m.issue_id for m in members}
        verified = [m for m in members if m.outcome == "verified"]
        if len(issues) < MIN_ISSUES or not verified:
            continue
        fix = job_of(verified[0].job)
        if fix is None:
            continue
        slug = re.sub(r"[^a-z0-9]+", "-", f"{exception or culprit}-{fix.script}".lower()).strip("-")
        name = f"learned-{slug}"[:100]
        while name in taken:
            name += "-2"
        taken.add(name)
        cause = verified[0].root_cause
        shown = secret_params_filtered(fix.script, fix.params)
        left_out = tuple(k for k, v in shown.items() if v != fix.params.get(k))
        params = {k: v for k, v in shown.items() if k not in left_out}
        match: dict[str, object] = {"culprit": {"contains": culprit}} if culprit else {}
        if project:
            match["project"] = {"equals": project}
        if exception:
            match["exception_type"] = {"equals": exception}
        rule: dict[str, object] = {
            "name": name,
            "description": f"What fixed {len(issues)} analysed issues of this root cause: {cause[:160]}",
            "approval": True,
            "match": match,
            "job": {
                "script": fix.script,
                "tier": fix.tier,
                "class": fix.priority_class.value,
                "params": params,
            },
        }
        found.append(Learned(rule, len(issues), cause, fix.id, left_out))
    return found
