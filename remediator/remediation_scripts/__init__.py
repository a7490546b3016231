"""The built-in remediation scripts and the registry that finds every script by name."""

from remediator.remediation_scripts.registry import (
    BUILTINS,
    ENTRY_POINT_GROUP,
    get_script,
    longest_time_limit,
    public_job,
    registry,
    secret_params_filtered,
)

__all__ = [
    "BUILTINS",
    "ENTRY_POINT_GROUP",
    "get_script",
    "longest_time_limit",
    "public_job",
    "registry",
    "secret_params_filtered",
]
