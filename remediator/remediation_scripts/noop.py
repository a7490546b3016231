"""`noop`: does nothing and succeeds. For trying rules end to end and measuring overhead."""

from __future__ import annotations

from typing import Any

from remediator.scripts import NoParams, Script, ScriptContext


class Noop(Script):
    """Succeed at once, touching nothing."""

    name = "noop"
    description = "Do nothing and succeed (for trying rules and measuring overhead)."
    Params = NoParams
    time_limit = 10
    idempotent = True

    def run(self, params: NoParams, ctx: ScriptContext) -> dict[str, Any]:
        """Nothing to do."""
        return {}
