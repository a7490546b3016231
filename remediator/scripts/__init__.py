"""Remediation scripts: the base class every script extends and the context it runs in."""

from remediator.scripts.contract import (
    SECRET,
    NoParams,
    Script,
    ScriptContext,
    redact_params,
    secret_values,
)

__all__ = ["SECRET", "NoParams", "Script", "ScriptContext", "redact_params", "secret_values"]
