"""Scripts named by the seed design whose real work is a later issue.

They are registered so rules can name them, and they fail loudly when run: a
placeholder must never report a fix it did not make.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from remediator.errors import ScriptNotConfigured
from remediator.scripts import Script, ScriptContext


class AnyParams(BaseModel):
    """Placeholders accept whatever params a rule gives; they never use them."""

    model_config = ConfigDict(extra="allow")


class _Placeholder(Script):
    Params = AnyParams
    time_limit = 60
    idempotent = True

    def run(self, params: AnyParams, ctx: ScriptContext) -> dict[str, Any]:
        """Refuse to run."""
        raise ScriptNotConfigured(
            f"script {self.name!r} is a placeholder and is not configured: it has not been "
            "built yet, so this job did nothing. Route this rule to 'http-request' or "
            "'run-command' to call your own tooling meanwhile."
        )


class FixBuildErrors(_Placeholder):
    """Placeholder for the build-repair job (seed level 5); fails with 'not configured'."""

    name = "fix-build-errors"
    description = "PLACEHOLDER: fails with 'not configured' until the build-fix job exists."
