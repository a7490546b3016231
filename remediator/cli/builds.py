"""`remediator report-build -- CMD ARGS...`: a build that reports its own failure to Sentry."""

from __future__ import annotations

import sys

import click

from remediator.cli.base import main


@main.command(
    "report-build", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False}
)
@click.option("--project", help="Sentry project the build belongs to (a tag).")
@click.option("--branch", help="Branch built (default: from CI's environment).")
@click.option("--commit", help="Commit built (default: from CI's environment).")
@click.option("--pull-request", help="Pull request number (default: from CI's environment).")
@click.option("--repository", help="OWNER/REPO (default: from CI's environment).")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def report_build(
    project: str | None,
    branch: str | None,
    commit: str | None,
    pull_request: str | None,
    repository: str | None,
    command: tuple[str, ...],
) -> None:
    """Run COMMAND, streaming its output unchanged, and exit with its exit code; when it
    fails, send one Sentry error event `Build failed: <command>` (SENTRY_DSN) with the
    build's tags and its parsed errors and warnings."""
    from remediator.builds.report import BuildInfo
    from remediator.builds.report import report_build as run_and_report

    given = BuildInfo(project, branch, commit, pull_request, repository)
    sys.exit(run_and_report(list(command), given))
