"""`remediator report-build`: the build's output passes through unchanged, its exit code is
kept, and a failure becomes one Sentry error event (received by the stand-in) with the
build's tags and its parsed errors and warnings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from remediator.builds.parse import parse_output
from remediator.builds.report import BuildInfo, from_ci, merged
from remediator.testing import SentryStandIn
from tests.helpers import remediator_command

PYTHON_TRACEBACK = """\
Traceback (most recent call last):
  File "/srv/app/main.py", line 10, in <module>
    main()
  File "/srv/app/cart.py", line 2, in average
    return sum(items) / len(items)
ZeroDivisionError: division by zero
"""

SYNTAX = """\
  File "app/models.py", line 14
    def save(self)
                  ^
SyntaxError: expected ':'
"""

PYTEST = """\
tests/test_cart.py:7: AssertionError
FAILED tests/test_cart.py::test_empty_cart - ZeroDivisionError: division by zero
ERROR tests/test_db.py - ModuleNotFoundError: No module named 'psycopg'
"""

RUFF = "app/cart.py:3:5: F841 Local variable `x` is assigned to but never used\n"
MYPY = (
    'app/cart.py:12: error: Incompatible return value type (got "float", expected "int")  [return-value]\n'
    "app/cart.py:12: note: see https://mypy.rtfd.io\n"
    "app/util.py:4: warning: unused 'type: ignore' comment\n"
)
TSC = (
    "src/api.ts(12,5): error TS2322: Type 'string' is not assignable to type 'number'.\n"
    "src/app.ts:3:1 - error TS2304: Cannot find name 'foo'.\n"
)
GENERIC_WARNING = "lib/x.c:10:2: warning: unused variable 'y'\n"


def test_the_usual_outputs_are_parsed_into_errors_and_warnings() -> None:
    errors, warnings = parse_output(PYTHON_TRACEBACK + SYNTAX + PYTEST + RUFF + MYPY + TSC + GENERIC_WARNING)
    found = [(e.file, e.line, e.message.split(":")[0]) for e in errors]
    assert ("/srv/app/cart.py", 2, "ZeroDivisionError") in found
    assert ("app/models.py", 14, "SyntaxError") in found
    assert ("tests/test_cart.py", 7, "AssertionError") in found
    assert ("tests/test_cart.py", None, "test_empty_cart") in found
    assert ("tests/test_db.py", None, "ModuleNotFoundError") in found
    assert ("app/cart.py", 3, "F841 Local variable `x` is assigned to but never used") in found
    assert (
        "app/cart.py",
        12,
        'Incompatible return value type (got "float", expected "int")  [return-value]',
    ) in found
    assert ("src/api.ts", 12, "TS2322") in found and ("src/app.ts", 3, "TS2304") in found
    assert [(w.file, w.line) for w in warnings] == [("app/util.py", 4), ("lib/x.c", 10)]
    assert not any("note" in e.message for e in errors)


def test_at_most_fifty_of_each_are_kept() -> None:
    errors, _ = parse_output("".join(f"src/f{n}.py:{n}:1: E1 bad\n" for n in range(80)))
    assert len(errors) == 50 and errors[0].file == "src/f0.py"


def test_ci_environment_fills_what_the_flags_do_not_say() -> None:
    github = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_REF": "refs/pull/42/merge",
        "GITHUB_HEAD_REF": "feature/x",
        "GITHUB_SHA": "abc123",
        "GITHUB_REPOSITORY": "acme/shop",
    }
    assert from_ci(github) == BuildInfo(
        branch="feature/x", commit="abc123", pull_request="42", repository="acme/shop"
    )
    gitlab = {
        "GITLAB_CI": "true",
        "CI_COMMIT_REF_NAME": "main",
        "CI_COMMIT_SHA": "def",
        "CI_PROJECT_PATH": "g/p",
    }
    assert from_ci(gitlab) == BuildInfo(branch="main", commit="def", repository="g/p")
    assert merged(BuildInfo(branch="given"), from_ci(github)).branch == "given"


def report(
    standin: SentryStandIn, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "SENTRY_DSN": standin.dsn, **(env or {})}
    for name in ("GITHUB_ACTIONS", "GITLAB_CI"):
        environment.pop(name, None)
    return remediator_command("report-build", *args, env=environment)


def test_a_failed_build_streams_its_output_keeps_its_exit_code_and_reports_once(
    standin: SentryStandIn, tmp_path: Path
) -> None:
    script = "import sys; print('building...'); sys.stderr.write(open(sys.argv[1]).read()); sys.exit(3)"
    log = tmp_path / "build_failure.txt"
    log.write_text(PYTHON_TRACEBACK + RUFF)
    done = report(
        standin,
        "--repository",
        "acme/shop",
        "--branch",
        "main",
        "--commit",
        "abc123",
        "--pull-request",
        "7",
        "--",
        sys.executable,
        "-c",
        script,
        str(log),
    )
    assert done.returncode == 3
    assert done.stdout == "building...\n"
    assert done.stderr.startswith(PYTHON_TRACEBACK + RUFF)
    assert "the failure was reported to Sentry" in done.stderr
    (event,) = standin.errors()
    assert event["message"].startswith(f"Build failed: {sys.executable} -c")
    expected = {
        "pipeline": "ci-cd",
        "stage": "build",
        "branch": "main",
        "commit": "abc123",
        "repository": "acme/shop",
        "pull_request": "7",
    }
    assert {k: event["tags"].get(k) for k in expected} == expected
    build = event["contexts"]["build"]
    assert build["exitCode"] == 3 and build["duration"] > 0
    assert {"file": "/srv/app/cart.py", "line": 2, "message": "ZeroDivisionError: division by zero"} in build[
        "errors"
    ]
    assert event["fingerprint"][:3] == ["remediator-build-failed", "acme/shop", "main"]


def test_a_passing_build_reports_nothing(standin: SentryStandIn) -> None:
    done = report(standin, "--", sys.executable, "-c", "print('ok')")
    assert done.returncode == 0 and done.stdout == "ok\n" and standin.errors() == []


def test_without_a_dsn_it_says_so_and_only_runs_the_command(standin: SentryStandIn) -> None:
    done = report(standin, "--", sys.executable, "-c", "raise SystemExit(2)", env={"SENTRY_DSN": ""})
    assert done.returncode == 2
    assert "SENTRY_DSN is unset; running the command without reporting" in done.stderr
    assert standin.errors() == []
