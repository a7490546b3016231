"""apply-ai-fix: a real git repository (a bare remote on disk), the project's own tests run
in a fresh clone, a draft pull request on the GitHub stand-in; the refusals, each proving
nothing was pushed; and the whole path from a production error webhook to the draft PR."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from remediator.errors import JobFailed, ScriptNotConfigured
from remediator.fixes.guard import refusals
from remediator.fixes.workspace import PushRefused, Workspace
from remediator.jobs import JobStatus, JobStore
from remediator.listeners.autofix import eligible
from remediator.remediation_scripts.apply_ai_fix import ApplyAiFix, FixParams
from remediator.rules import parse_rules
from remediator.rules.repositories import Repository
from remediator.scripts import ScriptContext
from remediator.sentry.api import SentryApi
from remediator.settings import Settings
from remediator.testing import LlmStandIn, NotifyStandIn, SentryStandIn
from remediator.testing import sentry_events as shapes
from remediator.testing.factories import make_job
from tests.conftest import _db_url
from tests.helpers import (
    STANDIN_TOKEN,
    WORKSPACE_PYTEST,
    WorkerProcess,
    clean,
    encode,
    github_standin,
    sentry_headers,
    wait_for,
)

GITHUB_TOKEN = "gh-fix-token-123456"
TEST_COMMAND = WORKSPACE_PYTEST

CART = "def average(items):\n    return sum(items) / len(items)\n"
TESTS = (
    "from app.cart import average\n\n\n"
    "def test_average():\n    assert average([2, 4]) == 3\n\n\n"
    "def test_empty_cart():\n    assert average([]) == 0\n"
)
FIX = (
    "--- a/app/cart.py\n+++ b/app/cart.py\n@@ -1,2 +1,4 @@\n def average(items):\n"
    "+    if not items:\n+        return 0\n     return sum(items) / len(items)\n"
)
BAD_FIX = (
    "--- a/app/cart.py\n+++ b/app/cart.py\n@@ -1,2 +1,2 @@\n def average(items):\n"
    "-    return sum(items) / len(items)\n+    return sum(items) / (len(items) or 1) + 1\n"
)


def git(*args: str, cwd: Path) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    """A bare repository holding a small project whose empty-cart test fails."""
    work = tmp_path / "seed"
    work.mkdir()
    (work / "app").mkdir()
    (work / "tests").mkdir()
    (work / "app" / "__init__.py").write_text("")
    (work / "app" / "cart.py").write_text(CART)
    (work / "tests" / "__init__.py").write_text("")
    (work / "tests" / "test_cart.py").write_text(TESTS)
    (work / ".github").mkdir()
    (work / ".github" / "ci.yml").write_text("on: push\n")
    git("init", "--quiet", "--initial-branch=main", cwd=work)
    git("add", "--all", cwd=work)
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "-m", "seed", cwd=work)
    bare = tmp_path / "shop.git"
    git("clone", "--quiet", "--bare", str(work), str(bare), cwd=tmp_path)
    return bare


def repository(remote: Path) -> Repository:
    return Repository(
        project="shop",
        clone_url=f"file://{remote}",
        github="acme/shop",
        default_branch="main",
        test_command=tuple(TEST_COMMAND),
        fix_paths=("app/**",),
    )


def branches(remote: Path) -> list[str]:
    return git("for-each-ref", "--format=%(refname:short)", "refs/heads", cwd=remote).split()


@pytest.fixture
def github(remote: Path) -> Iterator[NotifyStandIn]:
    with github_standin(GITHUB_TOKEN, {"acme/shop": str(remote)}) as server:
        yield server


def context(
    remote: Path, github: NotifyStandIn, standin: SentryStandIn, issue: str = "5101"
) -> ScriptContext:
    rules = parse_rules("rules: []\n").model_copy(update={"repositories": (repository(remote),)})
    settings = Settings(
        github_token=GITHUB_TOKEN, github_api_url=github.github_api_url, public_url="http://r.test"
    )
    standin.add_issue(issue, title="ZeroDivisionError: division by zero")
    api = SentryApi(standin.api_url, STANDIN_TOKEN, standin.org)
    job = make_job(script="apply-ai-fix", sentry_issue_id=issue, sentry_project="shop")
    return ScriptContext(job=job, settings=settings, sentry=api, rules=rules)


# -- the guard ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("diff", "reason"),
    [
        ("--- a/lib/x.py\n+++ b/lib/x.py\n@@ -1 +1 @@\n-a\n+b\n", "touches lib/x.py"),
        ("--- a/.github/ci.yml\n+++ b/.github/ci.yml\n@@ -1 +1 @@\n-a\n+b\n", "touches .github/ci.yml"),
        ("--- a/app/poetry.lock\n+++ b/app/poetry.lock\n@@ -1 +1 @@\n-a\n+b\n", "touches app/poetry.lock"),
        (
            "--- a/app/tests/test_cart.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n",
            "deletes the test file app/tests/test_cart.py",
        ),
        (
            "--- a/app/tests/test_c.py\n+++ b/app/tests/test_c.py\n@@ -1,2 +1 @@\n"
            "-def test_empty():\n-    assert 1\n+x = 1\n",
            "removes tests from app/tests/test_c.py",
        ),
        (
            "--- a/app/c.py\n+++ b/app/c.py\n@@ -1 +1,2 @@\n+@pytest.mark.skip\n def f(): pass\n",
            "skips tests in app/c.py",
        ),
        ("--- a/app/c.py\n+++ b/app/c.py\n@@ -1 +1 @@\n-x = f()\n+x = f()  # type: ignore\n", "silences"),
        ("--- a/app/c.py\n+++ b/app/c.py\n@@ -1 +1,2 @@\n+# ruff: noqa\n x = 1\n", "silences"),
    ],
)
def test_the_guard_refuses_what_no_automatic_fix_may_do(diff: str, reason: str, tmp_path: Path) -> None:
    found = refusals(diff, repository(tmp_path))
    assert any(reason in r for r in found), found


def test_the_guard_lets_a_fix_inside_fix_paths_through(tmp_path: Path) -> None:
    assert refusals(FIX, repository(tmp_path)) == []


def test_an_analysis_whose_rung_pushes_nothing_submits_no_fix() -> None:
    analysis = {"confidence": 95, "can_auto_fix": True, "suggested_fix": {"diff": FIX, "explanation": "x"}}
    assert eligible({"analysis": analysis, "autofix": {"rung": "suggest"}}, 0) is None
    assert eligible({"analysis": analysis, "autofix": {"rung": "branch"}}, 100) is not None


def test_only_confident_fixable_analyses_with_a_diff_qualify() -> None:
    analysis = {"confidence": 85, "can_auto_fix": True, "suggested_fix": {"diff": FIX, "explanation": "x"}}
    assert eligible({"analysis": analysis}, 80) is not None
    assert eligible({"analysis": {**analysis, "confidence": 79}}, 80) is None
    assert eligible({"analysis": {**analysis, "can_auto_fix": False}}, 80) is None
    assert eligible({"analysis": {**analysis, "suggested_fix": {"diff": None}}}, 80) is None


def test_the_default_branch_is_never_pushed_even_when_asked(remote: Path, tmp_path: Path) -> None:
    before = git("rev-parse", "refs/heads/main", cwd=remote)
    workspace = Workspace(repository(remote), tmp_path / "ws")
    workspace.clone()
    (workspace.tree / "app" / "cart.py").write_text("broken\n")
    workspace.commit("try to reach main")
    for branch in ("main", "feature/someones-branch"):
        with pytest.raises(PushRefused, match="remediator pushes only new remediator/"):
            workspace.push(branch)
    assert git("rev-parse", "refs/heads/main", cwd=remote) == before
    assert branches(remote) == ["main"]


# -- the script, in process --------------------------------------------------------------------


def test_a_fix_that_passes_the_tests_becomes_a_draft_pull_request(remote, github, standin) -> None:
    ctx = context(remote, github, standin)
    main_before = git("rev-parse", "refs/heads/main", cwd=remote)
    output = ApplyAiFix().run(FixParams(diff=FIX, root_cause="empty cart", confidence=85), ctx)
    branch = output["branch"]
    assert branch.startswith("remediator/fix-5101-")
    assert sorted(branches(remote)) == sorted(["main", branch])
    assert git("rev-parse", "refs/heads/main", cwd=remote) == main_before
    assert "if not items" in git("show", f"{branch}:app/cart.py", cwd=remote)
    (pull,) = github.pulls
    assert pull["draft"] is True and pull["head"]["ref"] == branch and pull["base"]["ref"] == "main"
    assert "2 passed" in pull["body"] and output["pull_request"] == pull["html_url"]
    (comment,) = standin.comment_texts("5101")
    assert "draft pull request" in comment and pull["html_url"] in comment


def test_a_fix_that_fails_the_tests_pushes_nothing_and_says_so(remote, github, standin) -> None:
    ctx = context(remote, github, standin, issue="5102")
    with pytest.raises(JobFailed, match="failed the tests"):
        ApplyAiFix().run(FixParams(diff=BAD_FIX), ctx)
    assert branches(remote) == ["main"] and github.pulls == []
    (comment,) = standin.comment_texts("5102")
    assert "failed the project's tests, nothing was pushed" in comment and "failed" in comment


def test_a_refused_fix_pushes_nothing(remote, github, standin) -> None:
    ctx = context(remote, github, standin, issue="5103")
    outside = FIX.replace("app/cart.py", ".github/ci.yml")
    with pytest.raises(JobFailed, match=r"refused the proposed fix: touches \.github/ci\.yml"):
        ApplyAiFix().run(FixParams(diff=outside), ctx)
    assert branches(remote) == ["main"] and github.pulls == []
    assert "was refused, nothing was pushed" in standin.comment_texts("5103")[0]


def test_a_project_without_a_repository_is_not_fixed(remote, github, standin) -> None:
    ctx = context(remote, github, standin, issue="5104")
    with pytest.raises(
        ScriptNotConfigured, match="no repository in the rule file for Sentry project 'elsewhere'"
    ):
        ApplyAiFix().run(FixParams(diff=FIX, project="elsewhere"), ctx)


# -- the whole path, through the workers -----------------------------------------------------------

GOOD_ANALYSIS: dict[str, Any] = {
    "root_cause": "average() divides by len(items), 0 for an empty cart (app/cart.py).",
    "suggested_fix": {"language": "python", "explanation": "Return 0 for an empty cart.", "diff": FIX},
    "impact": "Checkout fails for empty carts.",
    "urgency": "high",
    "confidence": 90,
    "can_auto_fix": True,
    "files": ["app/cart.py"],
}


@pytest.mark.parametrize(
    ("confidence", "rung"),
    [(90, "draft_pr"), (75, "branch")],
    ids=["confident-a-draft-pull-request", "less-sure-a-branch-only"],
)
def test_a_production_error_ends_as_far_as_its_confidence_reaches_on_the_ladder(
    remote, github, standin, make_app, broker_url, log_dir, tmp_path, confidence, rung
) -> None:
    issue = f"52{confidence}"
    llm = LlmStandIn().start()
    rules_text = f"""
rules:
  - name: analyse
    verify: none
    match: {{title: {{contains: ZeroDivisionError}}}}
    job: {{script: analyze-production-error, tier: prod, class: B, namespace: error-analysis}}
repositories:
  - project: shop
    clone_url: "file://{remote}"
    github: acme/shop
    test_command: {json.dumps(TEST_COMMAND)}
    fix_paths: ["app/**"]
"""
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(rules_text)
    broker = _db_url(broker_url, 4)
    env = {
        "REMEDIATOR_BROKER_URL": broker,
        "REMEDIATOR_RULES_FILE": str(rules_file),
        "REMEDIATOR_ANALYZER": "llm",
        "REMEDIATOR_LLM_BASE_URL": llm.base_url,
        "REMEDIATOR_LLM_MODEL": "standin-model",
        "REMEDIATOR_GITHUB_TOKEN": GITHUB_TOKEN,
        "REMEDIATOR_GITHUB_API_URL": github.github_api_url,
    }
    client = redis.Redis.from_url(broker, decode_responses=True)
    clean(client)
    workers = [
        WorkerProcess(tier, log_dir, env=env, name=f"{tier}-autofix").start() for tier in ("prod", "nonprod")
    ]
    try:
        llm.script(json.dumps({**GOOD_ANALYSIS, "confidence": confidence}))
        # The latest event's stack trace names the file the diff touches (else its confidence is capped).
        event = shapes.error_event(
            "ZeroDivisionError",
            "division by zero",
            [shapes.frame("app/cart.py", "average", 2, module="app.cart")],
        )
        standin.add_issue(issue, event=event, project={"id": "1", "slug": "shop", "name": "shop"})
        body = encode(standin.issue_webhook(issue))
        app = make_app(rules_text, broker=broker).test_client()
        assert (
            app.post("/sentry/webhook", data=body, headers=sentry_headers("issue", body)).status_code == 202
        )
        store = JobStore(client)
        fix = wait_for(
            lambda: next(
                (
                    j
                    for j in store.list(limit=20)
                    if j.script == "apply-ai-fix" and j.status is JobStatus.SUCCEEDED
                ),
                None,
            ),
            90,
            0.2,
            "the apply-ai-fix job to succeed",
        )
        assert fix.output is not None
        assert (fix.tier, fix.priority_class.value, fix.namespace) == ("nonprod", "C", "auto-fix")
        (analysis,) = [j for j in store.list(limit=20) if j.script == "analyze-production-error"]
        assert analysis.output is not None and analysis.output["autofix"]["rung"] == rung
        comments = standin.comment_texts(issue)
        (analysed,) = [c for c in comments if c.startswith("## 🤖 AI Analysis")]
        assert "**Automation:**" in analysed and f"reaches {rung}_at" in analysed and "```diff" in analysed
        assert fix.output["branch"] in branches(remote)
        if rung == "draft_pr":
            (pull,) = github.pulls
            assert pull["draft"] and fix.output["pull_request"] == pull["html_url"]
            assert any(pull["html_url"] in c for c in comments)
        else:
            assert github.pulls == [] and fix.output["pull_request"] is None
            assert any("no pull request" in c and fix.output["branch"] in c for c in comments)
        assert git("rev-parse", "refs/heads/main", cwd=remote) == git("rev-parse", "main~0", cwd=remote)
    finally:
        for worker in workers:
            worker.stop()
        llm.stop()
