"""The `seer` analyzer: Sentry's own Seer Autofix, started through the REST API and followed
through the `seer` webhooks, which the web process files under the run (see
`dispatch.Dispatcher.seer_progress`). The job waits for the stage its tier stops at."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, cast

import redis

from remediator.errors import JobFailed, NeedsAttention
from remediator.jobs.keys import seer_run_key, seer_stages_key
from remediator.sentry.api import SentryApi, SentryApiError

STOP_ACTIONS = {
    "root_cause": "root_cause_completed",
    "solution": "solution_completed",
    "code_changes": "coding_completed",
    "open_pr": "pr_created",
}
"""The webhook action that says a run reached each stopping point."""

RUN_KEPT_SECONDS = 7 * 86400
"""How long a run's id keeps pointing at its job."""


@dataclass
class SeerRun:
    """A finished (as far as asked) Seer run: what each stage said."""

    run_id: str
    stopping_point: str
    stages: list[dict[str, Any]] = field(default_factory=list)

    def latest(self, action: str) -> dict[str, Any]:
        """The data of the last webhook of an action (empty when none came)."""
        found = [s["data"] for s in self.stages if s.get("action") == action]
        return found[-1] if found else {}

    def record(self) -> dict[str, Any]:
        """What the job's output keeps."""
        return {
            "analyzer": "seer",
            "run_id": self.run_id,
            "stopping_point": self.stopping_point,
            "stages": [s["action"] for s in self.stages],
            "root_cause": self.latest("root_cause_completed").get("root_cause"),
            "solution": self.latest("solution_completed").get("solution"),
            "changes": self.latest("coding_completed").get("changes"),
            "pull_requests": self.latest("pr_created").get("pull_requests"),
        }


def start(api: SentryApi, client: redis.Redis, job_id: str, issue_id: str, stopping_point: str) -> str:
    """Start an autofix run that stops at `stopping_point`; the run's id now names the job."""
    try:
        answer = api.request(
            "POST",
            f"/organizations/{api.org}/issues/{issue_id}/autofix/",
            json={"step": "root_cause", "stopping_point": stopping_point},
        )
    except SentryApiError as exc:
        if exc.status == 402:
            raise JobFailed("Seer has no budget in this organization (402): nothing was analysed") from None
        raise JobFailed(f"could not start Seer Autofix: {exc}") from None
    run_id = str((answer or {}).get("run_id") or "")
    if not run_id:
        raise JobFailed(f"Seer Autofix answered without a run_id: {str(answer)[:200]}")
    client.set(seer_run_key(run_id), job_id, ex=RUN_KEPT_SECONDS)
    return run_id


def wait(client: redis.Redis, job_id: str, run: SeerRun, timeout: float) -> SeerRun:
    """Collect the run's stages until the stopping point's webhook came; NeedsAttention when
    it did not within `timeout` seconds."""
    goal = STOP_ACTIONS[run.stopping_point]
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            seen = ", ".join(s["action"] for s in run.stages) or "none"
            raise NeedsAttention(
                f"Seer run {run.run_id} did not reach {run.stopping_point} within {timeout:g} s "
                f"(stages seen: {seen}); look at the issue in Sentry"
            )
        # A one-second wait: shorter than any socket timeout the client was built with.
        popped = cast(Any, client.blpop([seer_stages_key(job_id)], timeout=1))
        if popped is None:
            continue
        stage = json.loads(popped[1])
        run.stages.append(stage)
        if stage.get("action") == goal:
            return run
