"""The built-in remediation scripts."""

from __future__ import annotations

from remediation_scripts.http_request import HttpRequest
from remediation_scripts.noop import Noop
from remediation_scripts.placeholders import AnalyzeProductionError, FixBuildErrors
from remediation_scripts.restart_db_pool import RestartDbPool
from remediation_scripts.restart_service import RestartService
from remediation_scripts.run_command import RunCommand
from remediator.scripts import Script

BUILTINS: tuple[type[Script], ...] = (
    HttpRequest,
    RunCommand,
    RestartDbPool,
    RestartService,
    FixBuildErrors,
    AnalyzeProductionError,
    Noop,
)
