"""The rule file's schema, validated by pydantic when rules load."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import (
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from remediator import defaults
from remediator.defaults import PriorityClass
from remediator.errors import RuleNotFound
from remediator.payloads.fields import TEXT_FIELDS
from remediator.rules.analysis_gate import AnalysisGate, merged
from remediator.rules.damage import ClassByDamage
from remediator.rules.fields import NAME_PATTERN, Duration, _Strict
from remediator.rules.notify_section import Notify
from remediator.rules.repositories import Repository
from remediator.rules.templating import TemplateError, check_templates, only_expression, sample_params


class Condition(_Strict):
    """One test on a text field; exactly one operator. A bare string means `equals`,
    a bare list means `in`."""

    equals: str | None = None
    contains: str | None = None
    regex: str | None = None
    in_: tuple[str, ...] | None = Field(default=None, alias="in")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"equals": value}
        if isinstance(value, list):
            return {"in": value}
        return value

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"invalid regular expression {value!r}: {exc}") from None
        return value

    @model_validator(mode="after")
    def _one_operator(self) -> Condition:
        given = [n for n in ("equals", "contains", "regex", "in_") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of: equals, contains, regex, in")
        return self


def _as_tuple(value: Any) -> Any:
    return (value,) if isinstance(value, str) else value


class Match(_Strict):
    """What a webhook must look like for the rule to apply; every given test must pass."""

    resource: tuple[str, ...] = defaults.SENTRY_RESOURCES_THAT_TRIGGER
    action: tuple[str, ...] | None = None
    title: Condition | None = None
    culprit: Condition | None = None
    level: Condition | None = None
    environment: Condition | None = None
    project: Condition | None = None
    """The project's slug, whatever the resource (looked up for events, which carry only its id)."""
    project_id: Condition | None = None
    """The project's numeric id."""
    issue_category: Condition | None = None
    """`error`, `performance`, `cron`, `uptime`, `metric`, `outage`, `feedback`..."""
    issue_type: Condition | None = None
    """The group type's slug (`performance_n_plus_one_db_queries`, `monitor_check_in_failure`...)."""
    substatus: Condition | None = None
    priority: Condition | None = None
    platform: Condition | None = None
    handled: Condition | None = None
    """`yes`, or `no` for a crash."""
    aggregate: Condition | None = None
    """A metric alert rule's aggregate (`p95(transaction.duration)`)."""
    exception_type: Condition | None = None
    release: Condition | None = None
    """The event's release, or the issue's first release."""
    new_in_latest_deploy: bool | None = None
    """true: the subject's release is the one deployed last in its environment (the issue
    began with the latest deploy); false: it is not. Needs Sentry's API (looked up, cached)."""
    deployed_within: Duration | None = None
    """The subject's release was deployed to its environment at most this long ago."""
    tags: dict[str, Condition] = Field(default_factory=dict)

    def tested(self) -> frozenset[str]:
        """The subject fields this match tests (`tags` for any tag)."""
        names = {n for n in (*TEXT_FIELDS, "exception_type") if getattr(self, n) is not None}
        return frozenset(names | ({"tags"} if self.tags else set()))

    @property
    def needs_deploy(self) -> bool:
        """Whether matching needs the release's deploy looked up in Sentry."""
        return self.new_in_latest_deploy is not None or self.deployed_within is not None

    _tuples = field_validator("resource", "action", mode="before")(_as_tuple)

    @field_validator("resource")
    @classmethod
    def _known_resources(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [r for r in value if r not in defaults.SENTRY_RESOURCES_THAT_TRIGGER]
        if unknown or not value:
            known = ", ".join(defaults.SENTRY_RESOURCES_THAT_TRIGGER)
            raise ValueError(f"unknown resource {', '.join(unknown) or '(none)'}; known: {known}")
        return value

    def actions_for(self, resource: str) -> tuple[str, ...]:
        """The actions this rule answers for a resource (by default, the firing ones)."""
        return self.action if self.action is not None else defaults.FIRING_ACTIONS[resource]


class JobTemplate(_Strict):
    """The job a matching rule submits; string params are sandboxed Jinja2 templates."""

    @property
    def class_text(self) -> str:
        """The class as the rule gives it: a letter, or how it is computed."""
        return self.class_by.describe() if self.class_by else self.priority_class.value

    script: str
    tier: str
    priority_class: PriorityClass = Field(alias="class")
    """The class; when the rule computes it (`class_by`), the default."""
    class_by: ClassByDamage | None = None
    """Set from `class: {A: {...}, ..., default: C}`: the class follows the damage."""

    @model_validator(mode="before")
    @classmethod
    def _computed_class(cls, value: Any) -> Any:
        if isinstance(value, dict) and isinstance(value.get("class"), dict):
            computed = dict(value["class"])
            return {**value, "class": computed.get("default"), "class_by": computed}
        return value

    namespace: str = Field(default="default", pattern=NAME_PATTERN)
    params: dict[str, Any] = Field(default_factory=dict, validate_default=True)
    time_limit: int | None = Field(default=None, ge=1)
    """Hard limit in seconds for this rule's jobs; at most the script's own limit."""

    @model_validator(mode="after")
    def _limit_within_script(self, info: ValidationInfo) -> JobTemplate:
        scripts = (info.context or {}).get("scripts") or {}
        script = scripts.get(self.script) if isinstance(scripts, Mapping) else None
        if self.time_limit is not None and script is not None and self.time_limit > script.time_limit:
            raise ValueError(
                f"time_limit {self.time_limit}s is over script {self.script!r}'s own limit "
                f"of {script.time_limit}s"
            )
        return self

    @field_validator("script")
    @classmethod
    def _known_script(cls, value: str, info: ValidationInfo) -> str:
        scripts = (info.context or {}).get("scripts")
        if scripts is not None and value not in scripts:
            raise ValueError(f"unknown script {value!r}; known: {', '.join(sorted(scripts))}")
        return value

    @field_validator("tier")
    @classmethod
    def _known_tier(cls, value: str, info: ValidationInfo) -> str:
        tiers = (info.context or {}).get("tiers", defaults.DEFAULT_TIERS)
        if value not in tiers:
            raise ValueError(f"unknown tier {value!r}; known: {', '.join(tiers)}")
        return value

    @field_validator("params")
    @classmethod
    def _params_fit_the_script(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        try:
            check_templates(value)
        except TemplateError as exc:
            raise ValueError(f"template does not compile: {exc}") from None
        # Static values must fit the script's params model now, not fail every job later.
        # Templated values are checked with a sample in place of each expression; a value
        # that is one expression and nothing else can only be checked when a job renders it.
        scripts = (info.context or {}).get("scripts") or {}
        name = info.data.get("script")
        script = scripts.get(name) if isinstance(scripts, Mapping) and name else None
        if script is None:
            return value
        try:
            script.Params.model_validate(sample_params(value))
        except ValidationError as exc:
            problems = [
                f"{'.'.join(str(p) for p in err['loc']) or '(params)'}: "
                + err["msg"].removeprefix("Value error, ")
                for err in exc.errors()
                if not (err["loc"] and only_expression(value.get(str(err["loc"][0]))))
            ]
            if problems:
                raise ValueError(f"do not fit script {name!r}: " + "; ".join(problems)) from None
        return value


_MAX_RUNS = re.compile(r"\s*(\d+)\s*(?:per|/)\s*(\S+)\s*")


class MaxRuns(_Strict):
    """`count` jobs `per` window; written `{count: 5, per: 1h}` or `5 per 1h`."""

    count: int = Field(ge=1)
    per: Duration

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, str):
            found = _MAX_RUNS.fullmatch(value)
            if not found:
                raise ValueError(f"{value!r}: write it as '5 per 1h' or {{count: 5, per: 1h}}")
            return {"count": int(found[1]), "per": found[2]}
        return value


class Rollout(_Strict):
    """A new rule's canary: it dry-runs in production until enough verified jobs elsewhere
    promote it (see remediator.rules.rollout)."""

    stage: Literal["canary"] = "canary"
    promote_after: int = Field(default=5, ge=1, le=1000)
    """Verified jobs (in a row: a failed or ineffective one resets the count) that promote it."""
    promote: Literal["auto", "approval"] = "auto"
    """`auto`: promoted on reaching promote_after; `approval`: an operator promotes it then."""


class Approval(_Strict):
    """`approval: {approvers: 2}`: each job waits for this many different people to approve."""

    approvers: int = Field(default=1, ge=1, le=5)


class Rule(_Strict):
    """A named mapping from a kind of Sentry issue to a remediation job."""

    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    enabled: bool = True
    match: Match
    job: JobTemplate
    verify_after: Duration = defaults.VERIFY_AFTER_SECONDS
    """After a job succeeds, how long Sentry must stay quiet before the fix counts as verified."""
    resolve_issue: bool = True
    """Whether a verified fix resolves the Sentry issue (false: comment only)."""
    verify: str | None = None
    """How a success is verified: `sentry` (the issue stays quiet for verify_after) or `none`
    (jobs that only analyse or notify; they never resolve an issue). Default: the script's."""
    key: str = defaults.DEFAULT_STORM_KEY
    """Template naming what once_within and concurrency count per (default: the issue)."""
    dedup_window: Duration = defaults.DEDUP_WINDOW_SECONDS
    """A repeated delivery (same resource, action and issue/event) within it is a duplicate."""
    once_within: Duration | None = None
    """At most one job per key within this window; later matches are recorded throttled."""
    max_runs: MaxRuns | None = None
    """At most `count` jobs of this rule `per` window, whatever the key."""
    breaker_after: int = Field(default=defaults.BREAKER_AFTER, ge=0)
    """After this many consecutive failed or ineffective jobs the rule disables itself (0: never)."""
    approval: bool | Approval | None = None
    """Whether a person must approve each job (`{approvers: 2}`: two different people);
    default: yes for class-A jobs on the approval tiers (prod), the class being the one each
    job gets when the rule computes it (and two people for the classes of
    REMEDIATOR_TWO_PERSON_CLASSES, unless the rule names a number)."""
    _approval_tier: bool = PrivateAttr(default=False)
    analysis: AnalysisGate | None = None
    """When an analysis job of this rule asks a model (over the file's top-level `analysis:`)."""
    dry_run: bool = False
    """Evaluate and record everything, run nothing."""
    settle: Literal["auto"] | Duration | None = None
    """Wait this long before a job runs, and cancel it when Sentry resolves the issue
    meanwhile; `auto`: as long as this rule's issues of the last 30 days took to resolve by
    themselves (their 90th percentile, at most settle_max), when a third of them did, else
    not at all. Class-A jobs settle only for a duration the rule gives, never for `auto`."""
    settle_max: Duration = defaults.SETTLE_MAX_SECONDS
    """The longest `auto` settles."""
    rollout: Rollout | None = None
    """Start as a canary: run outside production, dry-run in it, until promoted."""

    @field_validator("key")
    @classmethod
    def _key_compiles(cls, value: str) -> str:
        try:
            check_templates(value)
        except TemplateError as exc:
            raise ValueError(f"template does not compile: {exc}") from None
        return value

    @field_validator("verify")
    @classmethod
    def _known_strategy(cls, value: str | None, info: ValidationInfo) -> str | None:
        known = (info.context or {}).get("verifications")
        if value is not None and known is not None and value not in known:
            raise ValueError(f"unknown verification {value!r}; known: {', '.join(sorted(known))}")
        return value

    @model_validator(mode="after")
    def _default_approval(self, info: ValidationInfo) -> Rule:
        # Unless the rule says, class-A jobs on the approval tiers wait for a person; when
        # the class is computed, approval follows the class each job gets.
        tiers = (info.context or {}).get("approval_tiers") or defaults.DEFAULT_APPROVAL_TIERS
        self._approval_tier = self.job.tier in tiers
        if self.approval is None and self.job.class_by is None:
            object.__setattr__(
                self, "approval", self._approval_tier and self.job.priority_class == PriorityClass.A
            )
        return self

    def needs_approval(self, priority_class: PriorityClass | None = None) -> bool:
        """Whether this rule's jobs (of this class, when it is computed) wait for a person."""
        if self.approval is not None:
            return bool(self.approval)
        return self._approval_tier and (priority_class or self.job.priority_class) == PriorityClass.A

    @property
    def approvers(self) -> int | None:
        """How many different people approve each job, when the rule says (`approvers:`)."""
        return self.approval.approvers if isinstance(self.approval, Approval) else None

    @field_validator("verify_after")
    @classmethod
    def _meaningful_window(cls, value: float, info: ValidationInfo) -> float:
        if value > defaults.MAX_VERIFY_AFTER_SECONDS:
            raise ValueError(
                f"at most {defaults.MAX_VERIFY_AFTER_SECONDS:.0f}s: a later check would outlive "
                "the broker's visibility timeout and run twice"
            )
        minimum = (info.context or {}).get("min_verify_after", defaults.MIN_VERIFY_AFTER_SECONDS)
        if value < minimum:
            raise ValueError(
                f"at least {minimum:g}s: Sentry needs time to ingest new events, so a shorter quiet "
                "window would verify fixes that did nothing (REMEDIATOR_MIN_VERIFY_AFTER sets the floor)"
            )
        return value

    continue_matching: bool = Field(default=False, alias="continue")
    """When true, later rules are still tried after this one matched."""


class RuleSet(_Strict):
    """A whole rule file: rules are tried in order, the first match wins."""

    version: int = 1
    rules: tuple[Rule, ...] = ()
    notify: Notify = Field(default_factory=Notify)
    """Where events are sent (channels) and which (routes)."""
    repositories: tuple[Repository, ...] = ()
    """Where the Sentry projects' code lives (automatic fixes)."""
    analysis: AnalysisGate = Field(default_factory=AnalysisGate)
    """The defaults of every rule's analysis gate."""

    _notes: tuple[str, ...] = PrivateAttr(default=())

    @property
    def notes(self) -> tuple[str, ...]:
        """What the loader assumed while reading the file (shown by `rules check`)."""
        return self._notes

    @field_validator("version")
    @classmethod
    def _known_version(cls, value: int) -> int:
        if value != defaults.RULES_VERSION:
            raise ValueError(
                f"this remediator reads rule files of version {defaults.RULES_VERSION}, not {value}"
            )
        return value

    @model_validator(mode="after")
    def _routes_name_rules(self) -> RuleSet:
        names = {r.name for r in self.rules}
        for index, route in enumerate(self.notify.routes):
            for rule in route.when.rules or ():
                if rule not in names:
                    raise ValueError(f"notify route #{index + 1}: when.rule: no rule {rule!r} in this file")
        return self

    def analysis_gate(self, rule: str) -> AnalysisGate:
        """The analysis gate of the named rule (the file's defaults when it has no rule of
        that name any more, or the rule sets none)."""
        found = next((r for r in self.rules if r.name == rule), None)
        return merged(self.analysis, found.analysis if found else None)

    def repository_for(self, project: str | None) -> Repository | None:
        """The repository a Sentry project (slug or id) maps to, if any."""
        return next((r for r in self.repositories if project and r.project == project), None)

    def get(self, name: str) -> Rule:
        """The rule of that name, or RuleNotFound listing the known ones."""
        for rule in self.rules:
            if rule.name == name:
                return rule
        known = ", ".join(r.name for r in self.rules) or "(none)"
        raise RuleNotFound(f"no rule {name!r}; known: {known}")
