"""`restart-service`: restart a service by command or HTTP endpoint, then health-check it."""

from __future__ import annotations

import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from remediator.remediation_scripts._http import HttpUrl, call, probe, wait_healthy
from remediator.remediation_scripts.run_command import RunCommand, RunCommandParams
from remediator.scripts import SECRET, Script, ScriptContext


class RestartServiceParams(BaseModel):
    """Params of `restart-service`: exactly one of `command` (argv) or `url`."""

    model_config = ConfigDict(extra="forbid")

    command: list[str] | None = Field(default=None, min_length=1)
    url: HttpUrl | None = None
    method: Literal["POST", "PUT"] = "POST"
    headers: dict[str, str] = Field(default_factory=dict, json_schema_extra=SECRET)
    health_url: HttpUrl | None = None
    timeout: float = Field(default=60.0, gt=0, le=600)
    health_attempts: int = Field(default=10, ge=1, le=120)
    health_interval: float = Field(default=3.0, ge=0, le=60)
    check_first: bool = False
    """Probe health_url once before anything: a service that answers 2xx is left alone
    (a monitor's alarm that has passed is not a reason to restart)."""
    service: str | None = Field(default=None, max_length=200)
    """What is restarted, as the rule names it (a monitor's slug, a URL): kept on the job."""
    monitor: str | None = Field(default=None, max_length=200)
    """The Sentry monitor whose alarm started the job, when one did: kept on the job."""

    @model_validator(mode="after")
    def _one_way(self) -> RestartServiceParams:
        if (self.command is None) == (self.url is None):
            raise ValueError("give exactly one of 'command' (an argv list) or 'url'")
        if self.check_first and self.health_url is None:
            raise ValueError("check_first needs a health_url to check")
        return self


class RestartService(Script):
    """Restart a service, then wait for its health endpoint (if given)."""

    name = "restart-service"
    description = "Restart a service by argv command or HTTP call, then health-check it."
    Params = RestartServiceParams
    time_limit = 1500
    idempotent = True

    def run(self, params: RestartServiceParams, ctx: ScriptContext) -> dict[str, Any]:
        """Restart, then poll health_url until it answers 2xx (with check_first, only
        when a first probe says it is not healthy)."""
        started = time.monotonic()
        if params.check_first and params.health_url and probe(ctx, params.health_url, timeout=10.0):
            return {
                "steps": [s["step"] for s in ctx.steps],
                "restarted": False,
                "healthy": True,
                "service": params.service,
                "elapsed_s": round(time.monotonic() - started, 3),
            }
        if params.command is not None:
            RunCommand().run(RunCommandParams(argv=params.command, timeout=params.timeout), ctx)
        else:
            assert params.url is not None
            call(ctx, "restart", params.method, params.url, timeout=params.timeout, headers=params.headers)
        if params.health_url:
            wait_healthy(
                ctx,
                params.health_url,
                attempts=params.health_attempts,
                interval=params.health_interval,
                timeout=min(params.timeout, 30.0),
            )
        return {
            "steps": [s["step"] for s in ctx.steps],
            "restarted": True,
            "healthy": bool(params.health_url),
            "service": params.service,
            "elapsed_s": round(time.monotonic() - started, 3),
        }
