"""fix-build-errors against real git repositories on disk with real broken builds: a
ruff-fixable lint failure (the deterministic fixer, no model), a Python error fixed by a
model's diff (the OpenAI-compatible stand-in), a failure that is not reproducible, and one
that cannot be fixed in three rounds. Nothing reaches the default or the failing branch."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from remediator.errors import JobFailed
from remediator.remediation_scripts.fix_build_errors import BuildParams, FixBuildErrors
from remediator.rules import parse_rules
from remediator.rules.repositories import Repository
from remediator.scripts import ScriptContext
from remediator.sentry.api import SentryApi
from remediator.settings import Settings
from remediator.testing import LlmStandIn, NotifyStandIn, SentryStandIn
from remediator.testing.factories import make_job
from tests.helpers import STANDIN_TOKEN, WORKSPACE_PYTEST

GITHUB_TOKEN = "gh-build-token-123456"
PYTEST = WORKSPACE_PYTEST
RUFF = f"{sys.executable} -m ruff check --no-cache app"


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()


def remote_with(tmp_path: Path, files: dict[str, str]) -> tuple[Path, str]:
    """A bare repository whose `main` is fine and whose `feature` branch has these files."""
    work = tmp_path / "seed"
    work.mkdir()
    (work / "README").write_text("seed\n")
    git("init", "--quiet", "--initial-branch=main", cwd=work)
    git("add", "--all", cwd=work)
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "-m", "seed", cwd=work)
    git("checkout", "--quiet", "-b", "feature", cwd=work)
    for name, text in files.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text(text)
    git("add", "--all", cwd=work)
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "-m", "break it", cwd=work)
    commit = git("rev-parse", "HEAD", cwd=work)
    bare = tmp_path / "shop.git"
    git("clone", "--quiet", "--bare", str(work), str(bare), cwd=tmp_path)
    return bare, commit


def heads(remote: Path) -> dict[str, str]:
    lines = git(
        "for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads", cwd=remote
    ).splitlines()
    return dict(line.split() for line in lines)


@pytest.fixture
def github(tmp_path: Path) -> Iterator[NotifyStandIn]:
    server = NotifyStandIn(github_token=GITHUB_TOKEN, git_remotes={}).start()
    yield server
    server.stop()


def context(
    remote: Path,
    github: NotifyStandIn,
    standin: SentryStandIn,
    fixers: tuple[tuple[str, ...], ...] = (),
    **settings: Any,
) -> ScriptContext:
    github.git_remotes["acme/shop"] = str(remote)
    repository = Repository(
        project="shop",
        clone_url=f"file://{remote}",
        github="acme/shop",
        test_command=tuple(PYTEST),
        fix_paths=("app/**", "tests/**"),
        fixers=fixers,
    )
    rules = parse_rules("rules: []\n").model_copy(update={"repositories": (repository,)})
    standin.add_issue("7701", title="Build failed")
    return ScriptContext(
        job=make_job(
            script="fix-build-errors", sentry_issue_id="7701", sentry_tags={"repository": "acme/shop"}
        ),
        settings=Settings(github_token=GITHUB_TOKEN, github_api_url=github.github_api_url, **settings),
        sentry=SentryApi(standin.api_url, STANDIN_TOKEN, standin.org),
        rules=rules,
    )


def test_a_lint_failure_is_fixed_by_the_deterministic_fixer_on_a_new_branch(
    tmp_path, github, standin
) -> None:
    remote, commit = remote_with(tmp_path, {"app/__init__.py": "", "app/x.py": "import os\n\nX = 1\n"})
    before = heads(remote)
    fixer = (sys.executable, "-m", "ruff", "check", "--no-cache", "--fix", "app")
    ctx = context(remote, github, standin, fixers=(fixer,))
    output = FixBuildErrors().run(BuildParams(command=RUFF, commit=commit, branch="feature"), ctx)
    branch = output["branch"]
    assert branch.startswith("remediator/build-fix-") and output["final_build_passed"]
    after = heads(remote)
    assert {k: v for k, v in after.items() if k != branch} == before  # main and feature untouched
    assert "import os" not in git("show", f"{branch}:app/x.py", cwd=remote)
    (pull,) = github.pulls
    assert pull["draft"] and pull["base"]["ref"] == "feature" and pull["head"]["ref"] == branch
    assert output["attempts"][0]["by"] == "fixers" and output["attempts"][0]["passed"]
    assert pull["html_url"] in standin.comment_texts("7701")[-1]


def test_a_python_error_is_fixed_by_a_models_diff(tmp_path, github, standin) -> None:
    remote, commit = remote_with(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/cart.py": "def average(items):\n    return sum(items) / len(items)\n",
            "tests/__init__.py": "",
            "tests/test_cart.py": (
                "from app.cart import average\n\n\ndef test_empty():\n    assert average([]) == 0\n"
            ),
        },
    )
    diff = (
        "--- a/app/cart.py\n+++ b/app/cart.py\n@@ -1,2 +1,4 @@\n def average(items):\n"
        "+    if not items:\n+        return 0\n     return sum(items) / len(items)\n"
    )
    answer = {
        "root_cause": "average divides by zero for an empty list (app/cart.py)",
        "suggested_fix": {"language": "python", "explanation": "guard the empty list", "diff": diff},
        "impact": "the build",
        "urgency": "medium",
        "confidence": 90,
        "can_auto_fix": True,
        "files": ["app/cart.py"],
    }
    llm = LlmStandIn().start()
    try:
        llm.script(json.dumps(answer))
        ctx = context(
            remote, github, standin, analyzer="llm", llm_base_url=llm.base_url, llm_model="standin-model"
        )
        output = FixBuildErrors().run(
            BuildParams(command=" ".join(PYTEST), commit=commit, branch="feature"), ctx
        )
        asked = json.dumps(llm.requests[0])
    finally:
        llm.stop()
    assert output["attempts"][1] == {
        "round": 2,
        "by": "model",
        "changed": "a model's diff to app/cart.py",
        "passed": True,
    }
    assert "return sum(items) / len(items)" in asked  # the model saw the file the errors name
    assert "if not items" in git("show", f"{output['branch']}:app/cart.py", cwd=remote)


def test_a_build_that_passes_now_is_not_reproducible_and_changes_nothing(tmp_path, github, standin) -> None:
    remote, commit = remote_with(tmp_path, {"app/__init__.py": "", "app/x.py": "X = 1\n"})
    before = heads(remote)
    output = FixBuildErrors().run(BuildParams(command=RUFF, commit=commit), context(remote, github, standin))
    assert output["reproducible"] is False and "not reproducible" in output["detail"]
    assert heads(remote) == before and github.pulls == []


def test_a_build_that_cannot_be_fixed_in_three_rounds_says_why_and_pushes_nothing(
    tmp_path, github, standin
) -> None:
    remote, commit = remote_with(
        tmp_path, {"tests/__init__.py": "", "tests/test_x.py": "def test_x():\n    assert 1 == 2\n"}
    )
    before = heads(remote)
    with pytest.raises(JobFailed, match="the build still fails after 3 rounds"):
        FixBuildErrors().run(
            BuildParams(command=" ".join(PYTEST), commit=commit, branch="feature"),
            context(remote, github, standin),
        )
    assert heads(remote) == before and github.pulls == []
    assert "still fails after 3 rounds" in standin.comment_texts("7701")[-1]
