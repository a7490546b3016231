"""The registry of remediation scripts: built-ins plus an entry-point group for third parties."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.metadata import entry_points
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict
from pydantic.config import JsonDict

ENTRY_POINT_GROUP = "remediator.scripts"
"""Third-party packages register `name = "module:ScriptClass"` in this group."""


class NoParams(BaseModel):
    """Params of a script that takes none."""

    model_config = ConfigDict(extra="forbid")


@dataclass
class ScriptContext:
    """What a running script knows of its job, and where it records its steps."""

    job_id: str
    tier: str
    namespace: str
    steps: list[dict[str, Any]] = field(default_factory=list)

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

    def run(self, params: Any, ctx: ScriptContext) -> dict[str, Any]:
        """Do the remediation; return what the job record shows as output."""
        raise NotImplementedError


def _builtins() -> dict[str, type[Script]]:
    from remediation_scripts import BUILTINS

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
    """The script registered under name, or a KeyError that lists the known ones."""
    scripts = registry()
    try:
        return scripts[name]
    except KeyError:
        raise KeyError(f"unknown script {name!r}; known: {', '.join(sorted(scripts))}") from None


def longest_time_limit() -> int:
    """The largest hard time limit of any registered script (seconds)."""
    return max(script.time_limit for script in registry().values())


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


def redact(script_name: str, params: dict[str, Any]) -> dict[str, Any]:
    """The params with those marked secret replaced by [Filtered]."""
    script = registry().get(script_name)
    if script is None:
        return params
    hidden = set(_secret_fields(script))
    return {k: ("[Filtered]" if k in hidden else v) for k, v in params.items()}
