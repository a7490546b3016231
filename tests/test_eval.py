"""`remediator analyze eval`: the shipped cases load, the analyzer is asked about each as a
job would ask, and the scores say what the answers named (here against scripted answers:
this proves the runner, not a model)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from remediator.analysis.evaluate import load_cases
from remediator.testing import LlmStandIn

CASES = Path(__file__).resolve().parent.parent / "evals" / "production-errors"


def answer(root_cause: str, files: list[str]) -> str:
    return json.dumps(
        {
            "root_cause": root_cause,
            "suggested_fix": {"language": "text", "explanation": "see root cause"},
            "impact": "some users",
            "urgency": "medium",
            "confidence": 70,
            "can_auto_fix": False,
            "files": files,
        }
    )


def test_the_shipped_set_has_twelve_sourced_cases_in_three_languages() -> None:
    cases = load_cases(CASES)
    assert len(cases) >= 12
    assert {c.language for c in cases} == {"python", "javascript", "java"}
    assert all(c.source and c.cause_mentions and c.file for c in cases)


def test_eval_scores_cause_and_file_and_counts_what_could_not_be_analysed(tmp_path) -> None:
    llm = LlmStandIn(default=lambda request: answer("It is unclear.", [])).start()
    try:
        llm.script(
            answer("average() divides by len(items), zero for an empty cart", ["app/cart.py"]),  # both
            answer("A missing PAYMENT_API_URL variable", ["app/payments.py"]),  # cause only
            "no JSON here",
            "still no JSON",  # case 3: no analysis
        )
        env = {
            **os.environ,
            "REMEDIATOR_ANALYZER": "llm",
            "REMEDIATOR_LLM_BASE_URL": llm.base_url,
            "REMEDIATOR_LLM_MODEL": "standin-model",
        }
        done = subprocess.run(
            [sys.executable, "-m", "remediator", "analyze", "eval", str(CASES)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        llm.stop()
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("ok   python-zero-division-empty-list (python): cause yes, file yes")
    assert lines[1].startswith("FAIL python-keyerror-missing-config (python): cause yes, file no")
    assert lines[2].startswith(
        "FAIL python-nonetype-attribute (python): error: the model gave no valid analysis"
    )
    assert lines[-1] == "standin-model: 1/12 right on both; cause 2/12, file 1/12, no analysis 1"


def test_eval_without_an_llm_says_what_to_set() -> None:
    env = {**os.environ, "REMEDIATOR_ANALYZER": "none"}
    done = subprocess.run(
        [sys.executable, "-m", "remediator", "analyze", "eval", str(CASES)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1 and "REMEDIATOR_ANALYZER=llm" in done.stderr


def test_eval_against_an_endpoint_that_refuses_connections_fails_saying_so() -> None:
    from remediator.local.embedded_redis import free_port

    env = {
        **os.environ,
        "REMEDIATOR_ANALYZER": "llm",
        "REMEDIATOR_LLM_BASE_URL": f"http://127.0.0.1:{free_port()}/v1",  # nothing listens there
        "REMEDIATOR_LLM_MODEL": "standin-model",
        "REMEDIATOR_LLM_TIMEOUT": "2",
    }
    done = subprocess.run(
        [sys.executable, "-m", "remediator", "analyze", "eval", str(CASES)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stdout
    assert "the analyzer's endpoint did not answer for 12 of 12 cases" in done.stderr
    assert "these figures say nothing about the model" in done.stderr
