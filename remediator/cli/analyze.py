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
@click.option(
    "--iterations", type=click.IntRange(1, 100), default=1, show_default=True, help="Rounds over every case."
)
@click.option(
    "--without-code",
    is_flag=True,
    help="Leave the cases' repository snapshots out: every case has its stack trace alone.",
)
@click.option(
    "--context-tokens",
    type=click.IntRange(0),
    help="Tokens of code a case's repository may show (its analysis_context_tokens; default "
    "6,000, as a job's): lower it for a model with a small context window.",
)
@click.option("--judge-base-url", help="An OpenAI-compatible endpoint whose model grades each analysis too.")
@click.option("--judge-model", help="The judge's model (with --judge-base-url).")
@click.option(
    "--judge-api-key",
    envvar="REMEDIATOR_JUDGE_API_KEY",
    help="The judge's API key (or REMEDIATOR_JUDGE_API_KEY).",
)
def analyze_eval(
    folder: Path,
    as_json: bool,
    iterations: int,
    without_code: bool,
    context_tokens: int | None,
    judge_base_url: str | None,
    judge_model: str | None,
    judge_api_key: str | None,
) -> None:
    """Run the configured analyzer (REMEDIATOR_ANALYZER=llm) over FOLDER's cases; print,
    per case and in total, whether the root cause names the expected cause and file, and the
    points on the 4-point scale (100 cause and file, 65 one of them, 35 the right area, 0
    wrong; a judge model's grade instead when one is given). A case with a repository
    snapshot is shown the code behind its trace (its files at the release, its suspect
    commits) and scored on the commit it blames too."""
    import tempfile

    from remediator.analysis.evaluate import CaseRepositories, evaluate, load_cases, report, summary
    from remediator.analysis.judge import Judge
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
    if bool(judge_base_url) != bool(judge_model):
        raise click.ClickException("a judge needs both --judge-base-url and --judge-model")
    analyzer = LlmAnalyzer.from_settings(settings)
    judge = (
        Judge(judge_base_url, judge_model, judge_api_key, settings.llm_timeout)
        if judge_base_url and judge_model
        else None
    )
    scores = []
    rounds = [(i, case) for i in range(1, iterations + 1) for case in cases]
    with (
        tempfile.TemporaryDirectory(prefix="remediator-eval-") as scratch,
        click.progressbar(
            rounds,
            label=f"analysing {len(cases)} cases x {iterations} with {settings.llm_model}",
            file=sys.stderr,
        ) as bar,
    ):
        repositories = None if without_code else CaseRepositories(Path(scratch), context_tokens)
        for i, case in bar:
            try:
                scores.extend(
                    evaluate([case], analyzer, judge, i, settings.llm_price_per_1k_tokens, repositories)
                )
            except RemediatorError as exc:  # a snapshot that cannot be built
                raise click.ClickException(f"{case.name}: {exc}") from None
    totals = summary(scores)
    figures = report(scores)
    down = [s for s in scores if s.unavailable]
    if as_json:
        click.echo(
            json.dumps(
                {
                    "model": settings.llm_model,
                    "judge": judge_model,
                    "scores": [s.__dict__ for s in scores],
                    "summary": totals,
                    "report": figures,
                },
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
            else f"cause {_yes(s.cause)}, file {_yes(s.file)}, confidence {s.confidence}, {s.points} points"
            + (f", judge {s.judge_points}" if s.judge_points is not None else "")
            + (f", suspect commit {_yes(s.suspect)}" if s.suspect is not None else "")
        )
        if s.code_files:
            detail += f" [code: {', '.join(s.code_files)}; {s.suspects_offered} suspect commits]"
        round_ = f" [round {s.iteration}]" if iterations > 1 else ""
        click.echo(f"{mark} {s.case} ({s.language}){round_}: {detail}")
    t = totals["total"]
    cost = f", cost {figures['cost']:.4f}" if figures["cost"] is not None else ""
    click.echo(
        f"{settings.llm_model}: mean {figures['mean_points']} points"
        f" (rounds {figures['spread'][0]}-{figures['spread'][1]}), bullseye {figures['bullseye_rate']:.0%},"
        f" invalid answers {figures['invalid_answers']}, tokens {figures['tokens']}{cost},"
        f" latency p50 {figures['latency_p50_s']} s / p95 {figures['latency_p95_s']} s"
        + (
            f"; judged {figures['judged']}, the same grade as by cause and file {figures['judge_agrees']}"
            if judge
            else ""
        )
    )
    click.echo(
        f"{settings.llm_model}: {t['both']}/{t['cases']} right on both; cause {t['cause']}/{t['cases']}, "
        f"file {t['file']}/{t['cases']}, no analysis {t['no_analysis']}"
        + (
            f"; shown code {figures['with_code']}, blamed the commit that broke it"
            f" {figures['suspect_right']}/{figures['suspect_expected']}"
            if figures["with_code"]
            else ""
        )
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
