"""The registry of remediation scripts: the built-ins plus an entry-point group for third parties."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from importlib.metadata import entry_points
from typing import Any

from remediator.errors import UnknownScript
from remediator.jobs import Job
from remediator.remediation_scripts.analyze_production_error import AnalyzeProductionError
from remediator.remediation_scripts.apply_ai_fix import ApplyAiFix
from remediator.remediation_scripts.fix_build_errors import FixBuildErrors
from remediator.remediation_scripts.http_request import HttpRequest
from remediator.remediation_scripts.noop import Noop
from remediator.remediation_scripts.restart_db_pool import RestartDbPool
from remediator.remediation_scripts.restart_service import RestartService
from remediator.remediation_scripts.run_command import RunCommand
from remediator.scripts import Script, redact_params

ENTRY_POINT_GROUP = "remediator.scripts"
"""Third-party packages register `name = "module:ScriptClass"` in this group."""


BUILTINS: tuple[type[Script], ...] = (
    HttpRequest,
    RunCommand,
    RestartDbPool,
    RestartService,
    FixBuildErrors,
    AnalyzeProductionError,
    ApplyAiFix,
    Noop,
)
"""The scripts that ship with remediator."""


def _builtins() -> dict[str, type[Script]]:
    return {script.name: script for script in BUILTINS}


@lru_cache(maxsize=1)
def registry() -> Mapping[str, type[Script]]:
    """Every known script by name; an entry point may not shadow a built-in."""
    scripts = _builtins()
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in scripts:
            raise RuntimeError(f"entry point {ep.value!r} registers script {ep.name!r}, which already exists")
        loaded = ep.load()
        if not (isinstance(loaded, type) and issubclass(loaded, Script)):
            raise RuntimeError(f"entry point {ep.value!r} is not a remediator.scripts.Script")
        scripts[ep.name] = loaded
    return scripts


def get_script(name: str) -> type[Script]:
    """The script registered under name, or UnknownScript listing the known ones."""
    scripts = registry()
    try:
        return scripts[name]
    except KeyError:
        raise UnknownScript(f"unknown script {name!r}; known: {', '.join(sorted(scripts))}") from None


def longest_time_limit() -> int:
    """The largest hard time limit of any registered script (seconds)."""
    return max(script.time_limit for script in registry().values())


def secret_params_filtered(script_name: str, params: dict[str, Any]) -> dict[str, Any]:
    """The params with those marked secret (by the named script) replaced by [Filtered]."""
    script = registry().get(script_name)
    return params if script is None else redact_params(script, params)


def public_job(job: Job) -> dict[str, Any]:
    """A job as operators see it (API, CLI): params marked secret are [Filtered]."""
    document: dict[str, Any] = job.model_dump(mode="json")
    document["params"] = secret_params_filtered(job.script, document["params"])
    return document
