"""`restart-db-pool`: drain, restart and health-check a service's database pool over HTTP."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from remediator.remediation_scripts._http import HttpUrl, call, wait_healthy
from remediator.scripts import SECRET, Script, ScriptContext


class RestartDbPoolParams(BaseModel):
    """Params of `restart-db-pool`: the service's pool admin endpoints."""

    model_config = ConfigDict(extra="forbid")

    drain_url: HttpUrl
    restart_url: HttpUrl
    health_url: HttpUrl
    method: Literal["POST", "PUT"] = "POST"
    headers: dict[str, str] = Field(default_factory=dict, json_schema_extra=SECRET)
    timeout: float = Field(default=10.0, gt=0, le=120)
    health_attempts: int = Field(default=5, ge=1, le=60)
    health_interval: float = Field(default=2.0, ge=0, le=60)


class RestartDbPool(Script):
    """Drain the pool, restart it, then wait until the service reports healthy."""

    name = "restart-db-pool"
    description = "Drain -> restart -> health-check a database connection pool."
    Params = RestartDbPoolParams
    time_limit = 600
    idempotent = True

    def run(self, params: RestartDbPoolParams, ctx: ScriptContext) -> dict[str, Any]:
        """Each step is recorded; the first that fails fails the job."""
        call(ctx, "drain", params.method, params.drain_url, timeout=params.timeout, headers=params.headers)
        call(
            ctx, "restart", params.method, params.restart_url, timeout=params.timeout, headers=params.headers
        )
        wait_healthy(
            ctx,
            params.health_url,
            attempts=params.health_attempts,
            interval=params.health_interval,
            timeout=params.timeout,
        )
        return {"steps": [s["step"] for s in ctx.steps], "healthy": True}
