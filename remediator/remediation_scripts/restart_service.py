"""`restart-service`: restart a service by command or HTTP endpoint, then health-check it."""

from __future__ import annotations

import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from remediator.remediation_scripts._http import HttpUrl, call, wait_healthy
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

    @model_validator(mode="after")
    def _one_way(self) -> RestartServiceParams:
        if (self.command is None) == (self.url is None):
            raise ValueError("give exactly one of 'command' (an argv list) or 'url'")
        return self


class RestartService(Script):
    """Restart a service, then wait for its health endpoint (if given)."""

    name = "restart-service"
    description = "Restart a service by argv command or HTTP call, then health-check it."
    Params = RestartServiceParams
    time_limit = 1500
    idempotent = True

    def run(self, params: RestartServiceParams, ctx: ScriptContext) -> dict[str, Any]:
        """Restart, then poll health_url until it answers 2xx."""
        started = time.monotonic()
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
            "healthy": bool(params.health_url),
            "elapsed_s": round(time.monotonic() - started, 3),
        }
