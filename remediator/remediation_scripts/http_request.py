"""`http-request`: one HTTP call whose status decides the job's outcome."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from remediator.remediation_scripts._http import HttpUrl, call
from remediator.scripts import SECRET, Script, ScriptContext


class HttpRequestParams(BaseModel):
    """Params of `http-request`."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] = "GET"
    url: HttpUrl
    json_body: Any = Field(default=None, alias="json")
    headers: dict[str, str] = Field(default_factory=dict, json_schema_extra=SECRET)
    expected_status: list[int] | None = None
    """Statuses that count as success; any 2xx when not given."""
    timeout: float = Field(default=10.0, gt=0, le=300)


class HttpRequest(Script):
    """Call an HTTP endpoint (a runbook hook, a deploy API, a cache flush...)."""

    name = "http-request"
    description = "Call an HTTP endpoint and check its status."
    Params = HttpRequestParams
    time_limit = 330
    idempotent = False

    def run(self, params: HttpRequestParams, ctx: ScriptContext) -> dict[str, Any]:
        """Make the call; a status outside expected_status fails the job."""
        expected = tuple(params.expected_status) if params.expected_status else None
        response = call(
            ctx,
            "request",
            params.method,
            params.url,
            expected=expected,
            timeout=params.timeout,
            headers=params.headers,
            json=params.json_body,
        )
        return {"status": response.status_code, "body": ctx.steps[-1]["body"]}
