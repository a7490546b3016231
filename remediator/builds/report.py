"""Run a build command, stream its output unchanged, and when it fails send one Sentry error
event `Build failed: <command>` grouped per repository, branch and command, with the build's
facts as tags and its parsed errors in `contexts.build`."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import IO, Any, cast

from remediator.builds.parse import parse_output

OUTPUT_KEPT = 2_000_000
"""Characters of output kept for parsing (the command's own output is streamed whole)."""


@dataclass(frozen=True)
class BuildInfo:
    """Where the build ran: from the flags, else from CI's environment."""

    project: str | None = None
    branch: str | None = None
    commit: str | None = None
    pull_request: str | None = None
    repository: str | None = None


def from_ci(env: Mapping[str, str]) -> BuildInfo:
    """What GitHub Actions or GitLab CI say about the build."""
    if env.get("GITHUB_ACTIONS"):
        ref = env.get("GITHUB_REF", "")
        pull = ref.split("/")[2] if ref.startswith("refs/pull/") else None
        return BuildInfo(
            branch=env.get("GITHUB_HEAD_REF") or env.get("GITHUB_REF_NAME") or None,
            commit=env.get("GITHUB_SHA") or None,
            pull_request=pull,
            repository=env.get("GITHUB_REPOSITORY") or None,
        )
    if env.get("GITLAB_CI"):
        return BuildInfo(
            branch=env.get("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME") or env.get("CI_COMMIT_REF_NAME") or None,
            commit=env.get("CI_COMMIT_SHA") or None,
            pull_request=env.get("CI_MERGE_REQUEST_IID") or None,
            repository=env.get("CI_PROJECT_PATH") or None,
        )
    return BuildInfo()


def merged(given: BuildInfo, ci: BuildInfo) -> BuildInfo:
    """The flags given, the CI's values for the rest."""
    return replace(ci, **{k: v for k, v in given.__dict__.items() if v})


@dataclass
class BuildRun:
    command: list[str]
    exit_code: int
    output: str
    seconds: float


def run(command: list[str], out: IO[bytes], err: IO[bytes]) -> BuildRun:
    """Run the command, copying its stdout and stderr through unchanged as they come."""
    started = time.monotonic()
    try:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as exc:
        message = f"remediator report-build: cannot run {command[0]}: {exc.strerror}\n"
        err.write(message.encode())
        return BuildRun(command, 127, message, time.monotonic() - started)
    kept: list[bytes] = []
    lock = threading.Lock()

    def pump(source: IO[bytes], sink: IO[bytes]) -> None:
        for chunk in iter(lambda: source.readline(), b""):
            sink.write(chunk)
            sink.flush()
            with lock:
                kept.append(chunk)

    pumps = [
        threading.Thread(target=pump, args=(process.stdout, out), daemon=True),
        threading.Thread(target=pump, args=(process.stderr, err), daemon=True),
    ]
    for thread in pumps:
        thread.start()
    code = process.wait()
    for thread in pumps:
        thread.join()
    text = b"".join(kept).decode(errors="replace")[-OUTPUT_KEPT:]
    return BuildRun(command, code, text, time.monotonic() - started)


def event_for(build: BuildRun, info: BuildInfo) -> dict[str, Any]:
    """The Sentry error event of a failed build."""
    command = shlex.join(build.command)
    errors, warnings = parse_output(build.output)
    tags = {
        "pipeline": "ci-cd",
        "stage": "build",
        "branch": info.branch,
        "commit": info.commit,
        "repository": info.repository,
        "pull_request": info.pull_request,
        "project": info.project,
    }
    return {
        "level": "error",
        "message": f"Build failed: {command}",
        "logger": "remediator.report-build",
        "fingerprint": ["remediator-build-failed", info.repository or "-", info.branch or "-", command],
        "tags": {k: v for k, v in tags.items() if v},
        "contexts": {
            "build": {
                "exitCode": build.exit_code,
                "errors": [e.to_dict() for e in errors],
                "warnings": [w.to_dict() for w in warnings],
                "command": command,
                "duration": round(build.seconds, 3),
            }
        },
    }


def send(event: dict[str, Any], dsn: str, environment: str | None, release: str | None) -> str | None:
    """Send the event with sentry-sdk and wait for it to leave; returns its id."""
    import sentry_sdk

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release,
        default_integrations=False,
        auto_enabling_integrations=False,
        traces_sample_rate=0,
    )
    event_id = sentry_sdk.capture_event(cast(Any, event))
    sentry_sdk.flush(timeout=10)
    return event_id


def report_build(command: list[str], given: BuildInfo, env: Mapping[str, str] | None = None) -> int:
    """The whole of `remediator report-build`: returns the command's exit code."""
    env = os.environ if env is None else env
    dsn = env.get("SENTRY_DSN")
    if not dsn:
        sys.stderr.write(
            "remediator report-build: SENTRY_DSN is unset; running the command without reporting\n"
        )
        sys.stderr.flush()
    build = run(command, sys.stdout.buffer, sys.stderr.buffer)
    if build.exit_code != 0 and dsn:
        info = merged(given, from_ci(env))
        event_id = send(event_for(build, info), dsn, env.get("SENTRY_ENVIRONMENT"), env.get("SENTRY_RELEASE"))
        sys.stderr.write(f"remediator report-build: the failure was reported to Sentry (event {event_id})\n")
    return build.exit_code
