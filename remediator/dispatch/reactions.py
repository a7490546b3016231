"""Sentry's and Seer's reactions, from the intake: an issue resolved or ignored in Sentry,
a Seer run's progress."""

from __future__ import annotations

import json
import time
from typing import Any, cast

from remediator.dispatch.submit import Submission
from remediator.jobs import JobStatus
from remediator.jobs.keys import AWAITING_KEY, seer_run_key, seer_stages_key
from remediator.lifecycle import Event, EventKind
from remediator.remediation_scripts import registry

SEER_STAGES_KEPT = 86400
"""Seconds a Seer stage waits for its job's script to read it."""


def follows_seer(script_name: str) -> bool:
    """Whether a script follows Seer runs (it declares `follows_seer_runs`)."""
    script = registry().get(script_name)
    return bool(script is not None and script.follows_seer_runs)


class Reactions(Submission):
    """What happens to jobs when Sentry or Seer says something about their issue."""

    def seer_progress(
        self, action: str, run_id: str, data: dict[str, Any], issue_id: str | None = None
    ) -> str | None:
        """A Seer run reached a stage: a note, a timeline entry and a `seer_progress` event on
        its job (found by the run's id, else the issue's running analysis), and the stage
        handed to the job's waiting script. None: no job has that run."""
        job_id = cast(str | None, self.store.client.get(seer_run_key(run_id)))
        job = self.store.get(job_id) if job_id else None
        if job is None and issue_id:
            running = [
                j
                for j in self.store.get_many(self.store.jobs_for_issue(issue_id))
                if follows_seer(j.script) and j.status is JobStatus.RUNNING
            ]
            job = self.store.get(running[-1].id) if running else None
        if job is None:
            return None
        self.store.add_note(job.id, "seer", action=action, run_id=run_id)
        self.store.add_event(job.id, EventKind.SEER_PROGRESS.value, actor="seer", action=action)
        with self.store.client.pipeline() as pipe:
            pipe.rpush(seer_stages_key(job.id), json.dumps({"action": action, "data": data}))
            pipe.expire(seer_stages_key(job.id), SEER_STAGES_KEPT)
            pipe.execute()
        self.lifecycle.emit(Event.for_job(EventKind.SEER_PROGRESS, job, actor="seer", action=action))
        return job.id

    def issue_resolved(self, issue_id: str) -> None:
        """Sentry resolved an issue: one `issue_resolved` event per rule that acted on it (a
        PagerDuty incident the rule opened for it is resolved by the notify listener)."""
        jobs = self.store.get_many(self.store.jobs_for_issue(issue_id))
        for rule, tier in sorted({(job.rule, job.tier) for job in jobs}):
            self.lifecycle.emit(
                Event(kind=EventKind.ISSUE_RESOLVED, rule=rule, tier=tier, detail={"issue_id": issue_id})
            )

    def cancel_for_issue(self, issue_id: str, reason: str) -> list[str]:
        """Cancel the issue's jobs that have not started; returns their ids."""
        cancelled = []
        for job_id in self.store.jobs_for_issue(issue_id):
            job = self.store.get(job_id)
            if job is None:
                continue
            settling = job.status == JobStatus.QUEUED and job.settle_until is not None
            why = f"resolved by itself while settling ({reason})" if settling else reason
            for pending in (JobStatus.QUEUED, JobStatus.AWAITING_APPROVAL, JobStatus.HELD):
                if job.status == pending and self.lifecycle.move(
                    job,
                    pending,
                    JobStatus.CANCELLED,
                    detail={"reason": why},
                    error=why,
                    finished_at=time.time(),
                ):
                    cancelled.append(job_id)
                    self.store.client.zrem(AWAITING_KEY, job_id)
                    break
        if cancelled:
            # The claim in the worker refuses cancelled jobs anyway; revoking spares the trip.
            self.celery.control.revoke(cancelled)
        return cancelled
