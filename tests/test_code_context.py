"""The code behind the stack trace: for a project mapped to a repository (a real git
repository here), the analysis's prompt carries the frame's file as it was at the release's
commit and the commits that touched it before, read from a bare mirror kept under the data
dir; the comment names the suspect commit the model blames, and only one the evidence offered."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from remediator.analysis.code_context import code_context
from remediator.analysis.evidence import evidence_from
from remediator.remediation_scripts.analyze_production_error import AnalysisParams, AnalyzeProductionError
from remediator.rules.analysis_gate import AnalysisGate
from remediator.rules.loader import parse_rules
from remediator.rules.repositories import Repository
from remediator.scripts import ScriptContext
from remediator.sentry.api import SentryApi
from remediator.settings import Settings
from remediator.testing import LlmStandIn, SentryStandIn
from remediator.testing import sentry_events as shapes
from remediator.testing.factories import make_job
from remediator.testing.sentry_shapes import new_issue, rest_event
from tests.helpers import STANDIN_TOKEN
from tests.test_analysis import GOOD

SEED = "def average(items):\n    return 0\n"
BUG = "def average(items):\n    return sum(items) / len(items)  # released\n"
LATER = "def average(items):\n    return sum(items) / len(items)  # changed after the release\n"


def git(*args: str, cwd: Path) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=Dev", "-c", "user.email=dev@example.com", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


@pytest.fixture
def history(tmp_path: Path) -> dict[str, str]:
    """A repository whose app/cart.py was seeded, broken in the commit tagged v1.0 (the
    release), then changed again on main after it."""
    work = tmp_path / "repo"
    (work / "app").mkdir(parents=True)
    git("init", "--quiet", "--initial-branch=main", cwd=work)
    commits = {}
    for name, text, message in (
        ("seed", SEED, "Add average()"),
        ("bug", BUG, "Divide by len(items) for the mean"),
        ("later", LATER, "Reword a comment"),
    ):
        (work / "app" / "cart.py").write_text(text)
        git("add", "--all", cwd=work)
        git("commit", "--quiet", "-m", message, cwd=work)
        commits[name] = git("rev-parse", "HEAD", cwd=work)
        if name == "bug":
            git("tag", "v1.0", cwd=work)
    return {**commits, "url": f"file://{work}"}


def repository(history: dict[str, str], **fields: Any) -> Repository:
    return Repository(
        project="shop",
        clone_url=history["url"],
        github="acme/shop",
        test_command=("true",),
        fix_paths=("app/**",),
        **fields,
    )


def event(release: str | None) -> dict[str, Any]:
    return shapes.error_event(
        "ZeroDivisionError",
        "division by zero",
        [shapes.frame("/srv/shop/app/cart.py", "average", 2, module="app.cart")],
        release=release,
    )


@pytest.fixture
def llm() -> Iterator[LlmStandIn]:
    server = LlmStandIn().start()
    yield server
    server.stop()


def analyse(
    standin: SentryStandIn,
    llm: LlmStandIn,
    tmp_path: Path,
    repo: Repository,
    release: str | None,
    answer: dict[str, Any],
) -> tuple[dict[str, Any], str]:
    standin.add_issue("7301", event=event(release), project={"id": "1", "slug": "shop", "name": "shop"})
    llm.script(json.dumps(answer))
    rules = parse_rules("rules: []\n").model_copy(
        update={"repositories": (repo,), "analysis": AnalysisGate(reanalyze_after=0)}
    )
    ctx = ScriptContext(
        job=make_job(script="analyze-production-error", sentry_issue_id="7301", sentry_project="shop"),
        settings=Settings(
            analyzer="llm", llm_base_url=llm.base_url, llm_model="standin-model", data_dir=tmp_path / "var"
        ),
        sentry=SentryApi(standin.api_url, STANDIN_TOKEN, standin.org),
        rules=rules,
    )
    output = AnalyzeProductionError().run(AnalysisParams(), ctx)
    return output, str(llm.requests[-1]["messages"][-1]["content"])


def test_the_prompt_carries_the_file_at_the_release_commit_and_its_suspect_commits(
    standin: SentryStandIn, llm: LlmStandIn, tmp_path: Path, history: dict[str, str]
) -> None:
    blamed = {**GOOD, "suspect_commit": history["bug"][:12]}
    output, prompt = analyse(standin, llm, tmp_path, repository(history), "v1.0", blamed)
    assert output["analysis"]["suspect_commit"] == history["bug"][:12]
    report = json.loads(prompt.split(" BEGIN\n", 1)[1].rsplit("\nREPORT-", 1)[0])
    code = report["code"]
    assert code["commit"] == history["bug"] and code["commit_from"] == "release v1.0 (a tag)"
    (file,) = code["files"]
    assert (
        file["path"] == "app/cart.py" and "2:     return sum(items) / len(items)  # released" in file["text"]
    )
    assert "changed after the release" not in prompt  # the file as released, not as it is now
    shas = [c["sha"] for c in code["suspect_commits"]]
    assert shas == [history["bug"], history["seed"]]  # newest first, none after the release
    (bug,) = [c for c in code["suspect_commits"] if c["sha"] == history["bug"]]
    assert bug["message"] == "Divide by len(items) for the mean" and "+    return sum(items)" in bug["hunks"]
    (comment,) = [c for c in standin.comment_texts("7301") if c.startswith("## 🤖 AI Analysis")]
    assert f"**Suspect commit:** `{history['bug'][:12]}`" in comment
    assert (tmp_path / "var" / "mirrors" / "shop.git" / "HEAD").exists()  # a bare mirror, kept


def test_a_commit_the_evidence_never_offered_is_not_named(
    standin: SentryStandIn, llm: LlmStandIn, tmp_path: Path, history: dict[str, str]
) -> None:
    invented = {**GOOD, "suspect_commit": "deadbeefcafe"}
    output, _ = analyse(standin, llm, tmp_path, repository(history), "v1.0", invented)
    assert output["analysis"]["suspect_commit"] is None
    (comment,) = [c for c in standin.comment_texts("7301") if c.startswith("## 🤖 AI Analysis")]
    assert "Suspect commit" not in comment


def test_a_release_that_names_no_commit_reads_the_default_branch_and_says_why(
    history: dict[str, str], tmp_path: Path
) -> None:
    first = event("shop@9.9.9")
    issue = new_issue("1", first, {"id": "1", "slug": "shop", "name": "shop"}, "https://s.example", "acme")
    evidence = evidence_from(issue, rest_event(first, "1", "1"))
    context = code_context(repository(history), tmp_path, evidence)
    assert context.commit == history["later"]
    assert context.commit_from == "the default branch main (release shop@9.9.9 resolves to no commit)"
    pattern = repository(history, release_ref_pattern=r"shop@(.+)")
    evidence.release = "shop@v1.0"
    context = code_context(pattern, tmp_path, evidence)
    assert (context.commit, context.commit_from) == (
        history["bug"],
        "release shop@v1.0 (release_ref_pattern: v1.0)",
    )


def test_a_repository_that_cannot_be_read_leaves_the_stack_trace_alone_with_a_note(
    standin: SentryStandIn, llm: LlmStandIn, tmp_path: Path, history: dict[str, str]
) -> None:
    gone = repository({**history, "url": f"file://{tmp_path}/nowhere"})
    output, prompt = analyse(standin, llm, tmp_path, gone, "v1.0", GOOD)
    report = json.loads(prompt.split(" BEGIN\n", 1)[1].rsplit("\nREPORT-", 1)[0])
    assert report["code"]["files"] == [] and "could not be read" in report["code"]["note"]
    assert output["commented"] is True  # the analysis went on without it


def test_suspect_commits_follow_a_file_across_a_rename(tmp_path: Path) -> None:
    """The commit that wrote the failing line is offered with its hunk though the file has
    moved since: a move is not where a bug begins."""
    work = tmp_path / "repo"
    (work / "app").mkdir(parents=True)
    git("init", "--quiet", "--initial-branch=main", cwd=work)
    (work / "app" / "cart.py").write_text(BUG)
    git("add", "--all", cwd=work)
    git("commit", "--quiet", "-m", "Divide by len(items) for the mean", cwd=work)
    wrote = git("rev-parse", "HEAD", cwd=work)
    (work / "shop").mkdir()
    git("mv", "app/cart.py", "shop/cart.py", cwd=work)
    git("commit", "--quiet", "-m", "Move the cart into the shop package", cwd=work)
    moved = git("rev-parse", "HEAD", cwd=work)
    raised = shapes.error_event(
        "ZeroDivisionError",
        "division by zero",
        [shapes.frame("/srv/shop/shop/cart.py", "average", 2, module="shop.cart")],
    )
    issue = new_issue("1", raised, {"id": "1", "slug": "shop", "name": "shop"}, "https://s.example", "acme")
    evidence = evidence_from(issue, rest_event(raised, "1", "1"))
    context = code_context(repository({"url": f"file://{work}"}), tmp_path / "var", evidence)
    assert [c["sha"] for c in context.suspect_commits] == [moved, wrote]
    (first,) = [c for c in context.suspect_commits if c["sha"] == wrote]
    assert "+    return sum(items) / len(items)" in first["hunks"]


def test_java_and_bundled_javascript_frames_find_their_files(tmp_path: Path) -> None:
    """A Java frame names only `Cart.java` (its package is in the module); a bundled script's
    frame names a URL whose path is the end of one file's path in the repository."""
    work = tmp_path / "repo"
    java = work / "src/main/java/com/acme/shop/Cart.java"
    script = work / "web/src/cart.js"
    other = work / "src/test/java/com/acme/other/Cart.java"  # the same name elsewhere
    for path, text in ((java, "class Cart {}\n"), (script, "export const total = 0;\n"), (other, "x\n")):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git("init", "--quiet", "--initial-branch=main", cwd=work)
    git("add", "--all", cwd=work)
    git("commit", "--quiet", "-m", "Cart", cwd=work)
    raised = shapes.error_event(
        "java.lang.NullPointerException",
        "cart is null",
        [
            shapes.frame("webpack:///./src/cart.js", "total", 1),
            shapes.frame("Cart.java", "total", 1, module="com.acme.shop.Cart"),
        ],
        platform="java",
    )
    issue = new_issue("1", raised, {"id": "1", "slug": "shop", "name": "shop"}, "https://s.example", "acme")
    evidence = evidence_from(issue, rest_event(raised, "1", "1"))
    context = code_context(repository({"url": f"file://{work}"}), tmp_path / "var", evidence)
    assert sorted(f["path"] for f in context.files) == [
        "src/main/java/com/acme/shop/Cart.java",
        "web/src/cart.js",
    ]


def test_a_small_budget_keeps_the_failing_frames_file_and_room_for_the_suspect_commit(tmp_path: Path) -> None:
    """The innermost frame's file comes first (windowed when it does not fit whole); the
    outer one is cut, saying so; a share of the budget is kept for the suspect commits."""
    work = tmp_path / "repo"
    (work / "app").mkdir(parents=True)
    git("init", "--quiet", "--initial-branch=main", cwd=work)
    filler = "".join(f"# line {n} of a long module, nothing to see here\n" for n in range(1, 60))
    (work / "app" / "outer.py").write_text(filler + "def handle():\n    return total([])\n")
    (work / "app" / "inner.py").write_text(filler + "def total(items):\n    return 0\n")
    git("add", "--all", cwd=work)
    git("commit", "--quiet", "-m", "Add the cart", cwd=work)
    (work / "app" / "inner.py").write_text(filler + "def total(items):\n    return 1 / len(items)\n")
    git("commit", "--quiet", "-am", "Divide by the count", cwd=work)
    broke = git("rev-parse", "HEAD", cwd=work)
    raised = shapes.error_event(
        "ZeroDivisionError",
        "division by zero",
        [
            shapes.frame("app/outer.py", "handle", 61, module="app.outer"),
            shapes.frame("app/inner.py", "total", 61, module="app.inner"),
        ],
    )
    issue = new_issue("1", raised, {"id": "1", "slug": "shop", "name": "shop"}, "https://s.example", "acme")
    evidence = evidence_from(issue, rest_event(raised, "1", "1"))
    small = repository({"url": f"file://{work}"}, analysis_context_tokens=500)
    context = code_context(small, tmp_path / "var", evidence)
    (shown,) = context.files
    assert shown["path"] == "app/inner.py" and shown["lines"] == [49, 61]  # a window, not 61 lines
    assert "61:     return 1 / len(items)" in shown["text"]
    assert "the token budget (analysis_context_tokens) cut the files short" in (context.note or "")
    assert [c["sha"] for c in context.suspect_commits][:1] == [broke]


def test_a_suspect_commit_too_big_for_what_is_left_keeps_its_sha_and_message_and_cuts_its_hunks() -> None:
    from remediator.analysis.code_context import _size, _trimmed

    entry = {
        "sha": "a" * 40,
        "date": "2026-12-06T22:02:54+00:00",
        "message": "Add sessions",
        "hunks": "+x\n" * 500,
    }
    bare = _size({**entry, "hunks": " [cut]"})
    cut = _trimmed(entry, bare + 40)
    assert cut is not None and cut["sha"] == entry["sha"] and cut["message"] == "Add sessions"
    assert cut["hunks"].endswith(" [cut]") and "+x" in cut["hunks"]
    assert bare < _size(cut) <= bare + 40  # escapes counted: as long as fits, no longer
    assert _trimmed(entry, bare - 1) is None  # not even the SHA and message fit
