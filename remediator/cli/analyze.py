"""`remediator analyze eval DIR`: the configured analyzer over a labelled set of errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from remediator.cli.base import main, settings_or_exit


@main.group()
def analyze() -> None:
    """Production-error analysis."""


@analyze.command("eval")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the scores as JSON.")
def analyze_eval(folder: Path, as_json: bool) -> None:
    """Run the configured analyzer (REMEDIATOR_ANALYZER=llm) over FOLDER's cases; print,
    per case and in total, whether the root cause names the expected cause and file."""
    from remediator.analysis.evaluate import evaluate, load_cases, summary
    from remediator.analysis.llm import LlmAnalyzer
    from remediator.errors import RemediatorError

    settings = settings_or_exit()
    if settings.analyzer != "llm" or not (settings.llm_base_url and settings.llm_model):
        raise click.ClickException(
            "the eval runs the llm analyzer: set REMEDIATOR_ANALYZER=llm, REMEDIATOR_LLM_BASE_URL and "
            "REMEDIATOR_LLM_MODEL (Seer runs inside Sentry on real issues and cannot be evaluated offline)"
        )
    try:
        cases = load_cases(folder)
    except (RemediatorError, KeyError, ValueError) as exc:
        raise click.ClickException(f"{folder}: {exc}") from None
    analyzer = LlmAnalyzer(
        settings.llm_base_url, settings.llm_model, settings.llm_api_key, settings.llm_timeout
    )
    scores = []
    with click.progressbar(
        cases,
        label=f"analysing {len(cases)} cases with {settings.llm_model}",
        file=sys.stderr,
    ) as bar:
        for case in bar:
            scores.extend(evaluate([case], analyzer))
    totals = summary(scores)
    down = [s for s in scores if s.unavailable]
    if as_json:
        click.echo(
            json.dumps(
                {"model": settings.llm_model, "scores": [s.__dict__ for s in scores], "summary": totals},
                indent=2,
            )
        )
        _fail_if_unavailable(down, len(scores))
        return
    for s in scores:
        mark = "ok  " if s.passed else "FAIL"
        detail = (
            f"error: {s.error}"
            if s.error
            else f"cause {_yes(s.cause)}, file {_yes(s.file)}, confidence {s.confidence}"
        )
        click.echo(f"{mark} {s.case} ({s.language}): {detail}")
    t = totals["total"]
    click.echo(
        f"{settings.llm_model}: {t['both']}/{t['cases']} right on both; cause {t['cause']}/{t['cases']}, "
        f"file {t['file']}/{t['cases']}, no analysis {t['no_analysis']}"
    )
    _fail_if_unavailable(down, len(scores))


def _fail_if_unavailable(down: list[Any], cases: int) -> None:
    """An endpoint that did not answer makes the figures meaningless: say so, exit 1."""
    if down:
        raise click.ClickException(
            f"the analyzer's endpoint did not answer for {len(down)} of {cases} cases "
            f"({down[0].error}): these figures say nothing about the model"
        )


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"
