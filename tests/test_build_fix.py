"""fix-build-errors against real git repositories on disk with real broken builds: a
ruff-fixable lint failure (the deterministic fixer, no model), a Python error fixed by a
model's diff (the OpenAI-compatible stand-in), a failure that is not reproducible, and one
that cannot be fixed in three rounds. Nothing reaches the default or the failing branch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from werkzeug.serving import make_server

from remediator.errors import JobFailed
from remediator.jobs import JobStatus, JobStore
from remediator.lifecycle import Bus, Event, EventKind, ListenerContext
from remediator.listeners.rebuild import RebuildVerification
from remediator.remediation_scripts.fix_build_errors import BuildParams, FixBuildErrors
from remediator.rules import parse_rules
from remediator.rules.repositories import Repository
from remediator.scripts import ScriptContext
from remediator.sentry.api import SentryApi
from remediator.settings import Settings
from remediator.testing import LlmStandIn, NotifyStandIn, SentryStandIn
from remediator.testing.factories import make_job
from tests.conftest import _db_url
from tests.helpers import (
    SECRET,
    STANDIN_TOKEN,
    WORKSPACE_PYTEST,
    clean,
    github_standin,
    running_worker,
    wait_for,
)

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
    with github_standin(GITHUB_TOKEN) as server:
        yield server


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


def test_a_build_of_a_pull_request_is_answered_on_that_pull_request_not_with_a_new_one(
    tmp_path, github, standin
) -> None:
    remote, commit = remote_with(tmp_path, {"app/__init__.py": "", "app/x.py": "import os\n\nX = 1\n"})
    fixer = (sys.executable, "-m", "ruff", "check", "--no-cache", "--fix", "app")
    ctx = context(remote, github, standin, fixers=(fixer,))
    theirs = github.open_pull("acme/shop", head="feature", base="main", title="A person's change")
    before = heads(remote)
    output = FixBuildErrors().run(
        BuildParams(command=RUFF, commit=commit, branch="feature", pull_request=str(theirs["number"])), ctx
    )
    assert [p["number"] for p in github.pulls] == [theirs["number"]]  # nothing new opened
    (comment,) = github.comments
    assert comment["target"] == str(theirs["number"]) and output["branch"] in comment["body"]
    assert "app/x.py" in comment["body"]  # the diff summary
    assert heads(remote)["feature"] == before["feature"]  # the person's branch untouched
    assert output["pull_request_number"] == theirs["number"]


# -- the rebuild verification strategy -----------------------------------------------------------


def succeeded_fix(store: JobStore, issue: str, number: int | None, **output: Any) -> Any:
    values: dict[str, Any] = {
        "reproducible": True,
        "repository": "acme/shop",
        "pull_request": f"https://github.example/acme/shop/pull/{number}",
        "pull_request_number": number,
        "final_build_passed": True,
    }
    return store.create(
        make_job(
            script="fix-build-errors",
            verification="rebuild",
            sentry_issue_id=issue,
            status=JobStatus.SUCCEEDED,
            output=values | output,
        )
    )


def verify_now(job: Any, redis_db: redis.Redis, github: NotifyStandIn) -> str | None:
    settings = Settings(github_token=GITHUB_TOKEN, github_api_url=github.github_api_url)
    store = JobStore(redis_db)
    listener = RebuildVerification(ListenerContext(settings, store, bus=Bus([], store=store)))
    return listener.on_succeeded(Event.for_job(EventKind.SUCCEEDED, job))


def test_a_build_fix_is_verified_by_its_final_rebuild_and_resolves_only_once_merged(
    tmp_path, github, standin, redis_db
) -> None:
    remote, _ = remote_with(tmp_path, {"app/__init__.py": ""})
    github.git_remotes["acme/shop"] = str(remote)
    store = JobStore(redis_db)
    for issue, merged in (("7801", False), ("7802", True)):
        standin.add_issue(issue, title="Build failed: ruff check app")
        pull = github.open_pull("acme/shop", head="feature", base="main")
        if merged:
            github.merge(pull["number"])
        job = succeeded_fix(store, issue, pull["number"])
        said = verify_now(job, redis_db, github)
        assert store.get(job.id).status is JobStatus.VERIFIED
        assert standin.issues[issue]["status"] == ("resolved" if merged else "unresolved"), said
        assert ("merged" in str(said)) and (("not merged yet" in str(said)) is not merged)


def test_a_build_that_was_not_reproducible_is_not_verified(github, standin, redis_db) -> None:
    standin.add_issue("7803", title="Build failed: ruff check app")
    job = succeeded_fix(JobStore(redis_db), "7803", None, reproducible=False, final_build_passed=False)
    said = verify_now(job, redis_db, github)
    assert JobStore(redis_db).get(job.id).status is JobStatus.SUCCEEDED
    assert "not reproducible" in str(said) and standin.issues["7803"]["status"] == "unresolved"


def test_when_github_cannot_say_whether_it_was_merged_the_fix_is_verified_and_the_issue_stays_open(
    standin, redis_db
) -> None:
    down = NotifyStandIn(github_token="another-token").start()  # our token is refused: 401
    try:
        standin.add_issue("7804", title="Build failed: ruff check app")
        job = succeeded_fix(JobStore(redis_db), "7804", 3)
        said = verify_now(job, redis_db, down)
    finally:
        down.stop()
    assert JobStore(redis_db).get(job.id).status is JobStatus.VERIFIED
    assert "GitHub refused pull request #3: 401" in str(said)
    assert standin.issues["7804"]["status"] == "unresolved"


# -- the whole path: a reported build, Sentry's webhook, the worker, the pull request -------------------


def test_a_failed_build_reported_to_sentry_ends_as_a_verified_fix_branch_and_draft_pull_request(
    tmp_path, github, standin, make_app, broker_url, log_dir
) -> None:
    remote, commit = remote_with(tmp_path, {"app/__init__.py": "", "app/x.py": "import os\n\nX = 1\n"})
    github.git_remotes["acme/shop"] = str(remote)
    checkout = tmp_path / "ci"
    git("clone", "--quiet", "--branch", "feature", str(remote), str(checkout), cwd=tmp_path)
    rules_text = f"""
rules:
  - name: build-failed
    match: {{title: {{contains: "Build failed"}}}}
    job: {{script: fix-build-errors, tier: nonprod, class: B, namespace: ci-cd}}
repositories:
  - project: shop
    clone_url: "file://{remote}"
    github: acme/shop
    test_command: {json.dumps(PYTEST)}
    fix_paths: ["app/**"]
    fixers: [{json.dumps([sys.executable, "-m", "ruff", "check", "--no-cache", "--fix", "app"])}]
"""
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(rules_text)
    broker = _db_url(broker_url, 3)
    client = redis.Redis.from_url(broker, decode_responses=True)
    clean(client)
    app = make_app(rules_text, broker=broker)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    standin.alert_to(f"http://127.0.0.1:{server.server_port}/sentry/webhook", SECRET)
    env = {
        "REMEDIATOR_BROKER_URL": broker,
        "REMEDIATOR_RULES_FILE": str(rules_file),
        "REMEDIATOR_GITHUB_TOKEN": GITHUB_TOKEN,
        "REMEDIATOR_GITHUB_API_URL": github.github_api_url,
    }
    before = heads(remote)
    try:
        with running_worker("nonprod", log_dir, env=env, name="nonprod-build"):
            reporter = [sys.executable, "-m", "remediator", "report-build", "--repository", "acme/shop"]
            build = subprocess.run(
                [*reporter, "--branch", "feature", "--commit", commit, "--", *RUFF.split()],
                cwd=checkout,
                capture_output=True,
                text=True,
                env={**os.environ, "SENTRY_DSN": standin.dsn},
                timeout=60,
            )
            assert build.returncode == 1 and "F401" in build.stdout  # ruff's own output, passed through
            store = JobStore(client)
            job = wait_for(
                lambda: next((j for j in store.list(limit=5) if j.status is JobStatus.VERIFIED), None),
                90,
                0.2,
                "the build fix to be verified",
            )
    finally:
        standin.stop_alerts()
        server.shutdown()
    assert standin.webhook_failures == []
    (issue,) = [i for i in standin.issues.values() if i["title"].startswith("Build failed:")]
    assert issue["title"] == f"Build failed: {RUFF}" and job.sentry_issue_id == issue["id"]
    (pull,) = github.pulls
    assert job.output is not None
    branch = job.output["branch"]
    assert pull["draft"] and pull["head"]["ref"] == branch and pull["base"]["ref"] == "feature"
    assert {k: v for k, v in heads(remote).items() if k != branch} == before
    assert "import os" not in git("show", f"{branch}:app/x.py", cwd=remote)
    # The comments are the write-back listener's, sent after the job's own steps.
    comments = wait_for(
        lambda: (
            (texts := standin.comment_texts(issue["id"]))
            and any(c.startswith("Verified: the build passes") for c in texts)
            and texts
        ),
        what="the verified comment",
    )
    assert any(pull["html_url"] in c for c in comments)
    assert issue["status"] == "unresolved"  # its pull request is not merged yet
