"""`run-command`: run a program from an argv list. Never through a shell."""

from __future__ import annotations

import os
import subprocess
import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from remediator.errors import ScriptError
from remediator.scripts import SECRET, Script, ScriptContext

OUTPUT_EXCERPT = 4000
"""How much of stdout/stderr a job's output keeps (the end of each)."""

PASSED_ENV = ("PATH", "LANG", "LC_ALL", "HOME", "TZ")
"""The only worker variables a command inherits: the worker's secrets stay out."""


class RunCommandParams(BaseModel):
    """Params of `run-command`."""

    model_config = ConfigDict(extra="forbid")

    argv: list[str] = Field(min_length=1)
    """The program and its arguments, one item each; no shell parses them."""
    timeout: float = Field(default=60.0, gt=0, le=3600)
    env: dict[str, str] = Field(default_factory=dict, json_schema_extra=SECRET)
    cwd: str | None = None


class RunCommand(Script):
    """Run a command; a non-zero exit status fails the job."""

    name = "run-command"
    description = "Run a program from an argv list (no shell), with a timeout."
    Params = RunCommandParams
    time_limit = 3630
    idempotent = False

    def run(self, params: RunCommandParams, ctx: ScriptContext) -> dict[str, Any]:
        """Run argv with a minimal environment and record its exit status and output."""
        env = {k: os.environ[k] for k in PASSED_ENV if k in os.environ} | params.env
        started = time.monotonic()
        try:
            done = subprocess.run(
                params.argv,
                shell=False,
                capture_output=True,
                timeout=params.timeout,
                env=env,
                cwd=params.cwd,
                stdin=subprocess.DEVNULL,
                check=False,
            )
        except subprocess.TimeoutExpired:
            ctx.step("run", False, started, argv=params.argv, error="timeout")
            raise ScriptError(f"run: {params.argv[0]} did not finish in {params.timeout}s") from None
        except OSError as exc:
            ctx.step("run", False, started, argv=params.argv, error=str(exc))
            raise ScriptError(f"run: cannot start {params.argv[0]!r}: {exc.strerror}") from None
        output = {
            "exit_status": done.returncode,
            "stdout": done.stdout.decode("utf-8", "replace")[-OUTPUT_EXCERPT:],
            "stderr": done.stderr.decode("utf-8", "replace")[-OUTPUT_EXCERPT:],
        }
        ctx.step("run", done.returncode == 0, started, argv=params.argv, **output)
        if done.returncode != 0:
            raise ScriptError(f"run: {params.argv[0]} exited with status {done.returncode}")
        return output
