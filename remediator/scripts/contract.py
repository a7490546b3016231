"""What a remediation script is: its base class, its context, and how its secrets are marked."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict
from pydantic.config import JsonDict

from remediator.jobs.model import Job
from remediator.rules import RuleSet
from remediator.sentry.api import SentryApi
from remediator.settings import Settings


class NoParams(BaseModel):
    """Params of a script that takes none."""

    model_config = ConfigDict(extra="forbid")


@dataclass
class ScriptContext:
    """What a running script gets instead of globals: its job, the subject's ids, the
    settings, a Sentry API client (None when REMEDIATOR_SENTRY_AUTH_TOKEN/ORG are unset)
    and the recorder of its steps."""

    job: Job
    settings: Settings
    sentry: SentryApi | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)
    rules: RuleSet | None = None
    """The rule file the worker loaded (its repositories, for fixes)."""
    redis: Any = None
    """The job store's Redis client (a script that waits for webhooks, such as Seer's)."""

    @property
    def job_id(self) -> str:
        """The job's id."""
        return self.job.id

    @property
    def tier(self) -> str:
        """The job's tier."""
        return self.job.tier

    @property
    def namespace(self) -> str:
        """The job's namespace."""
        return self.job.namespace

    @property
    def issue_id(self) -> str | None:
        """The Sentry issue the job is about, if any."""
        return self.job.sentry_issue_id

    @property
    def event_id(self) -> str | None:
        """The Sentry event the job is about, if any."""
        return self.job.sentry_event_id

    @property
    def project(self) -> str | None:
        """The Sentry project (slug) the job is about, if known."""
        return self.job.sentry_project

    def step(self, name: str, ok: bool, started: float, **detail: Any) -> None:
        """Record one step of the script (shown in the job's output, success or not)."""
        elapsed_ms = round((time.monotonic() - started) * 1000, 1)
        self.steps.append({"step": name, "ok": ok, "elapsed_ms": elapsed_ms, **detail})


class Script:
    """Base of every remediation script.

    A script declares its params as a pydantic model (validated before it runs), a hard
    time limit and whether running it twice is safe; `run` returns the job's output or
    raises ScriptError.
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""
    Params: ClassVar[type[BaseModel]] = NoParams
    time_limit: ClassVar[int] = 300
    """Hard limit in seconds: the worker kills the job after it."""
    idempotent: ClassVar[bool] = True
    """Whether running the script again after a crash is safe."""
    verification: ClassVar[str] = "sentry"
    follows_seer_runs: ClassVar[bool] = False
    """Whether the script follows a Seer Autofix run (its stages are filed on the job)."""
    """How a success is verified unless the rule says otherwise: `sentry` or `none`."""

    def run(self, params: Any, ctx: ScriptContext) -> dict[str, Any]:
        """Do the remediation; return what the job record shows as output."""
        raise NotImplementedError


SECRET: JsonDict = {"secret": True}
"""`Field(json_schema_extra=SECRET)` marks a param whose values never leave the worker:
they are kept out of telemetry and shown as [Filtered] by the API."""


def _secret_fields(script: type[Script]) -> list[str]:
    return [
        name
        for name, info in script.Params.model_fields.items()
        if isinstance(info.json_schema_extra, dict) and info.json_schema_extra.get("secret")
    ]


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value]


def secret_values(script: type[Script], params: dict[str, Any]) -> list[str]:
    """Every string inside the params marked secret."""
    return [
        leaf
        for name in _secret_fields(script)
        if name in params
        for leaf in _leaves(params[name])
        if isinstance(leaf, str)
    ]


def redact_params(script: type[Script], params: dict[str, Any]) -> dict[str, Any]:
    """The params with those marked secret replaced by [Filtered]."""
    hidden = set(_secret_fields(script))
    return {k: ("[Filtered]" if k in hidden else v) for k, v in params.items()}
