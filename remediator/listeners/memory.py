"""The listener that remembers what worked: when a job for an analysed issue is verified or
found ineffective, the issue's latest analysis (its root cause and fix) is kept with that
outcome (analysis.memory), for the next analysis of a similar issue. Remote: it reads the
issue's jobs and writes the memory in Redis."""

from __future__ import annotations

import time

from remediator.analysis.memory import Memory, MemoryStore, Signature
from remediator.jobs import Job, JobStatus
from remediator.lifecycle import Event, Listener

ANALYSIS_SCRIPT = "analyze-production-error"


def latest_analysis(jobs: list[Job]) -> Job | None:
    """The newest analysis of an issue that produced an answer and a signature."""
    done = [
        j
        for j in jobs
        if j.script == ANALYSIS_SCRIPT
        and j.status is JobStatus.SUCCEEDED
        and isinstance((j.output or {}).get("analysis"), dict)
        and isinstance((j.output or {}).get("signature"), dict)
    ]
    return max(done, key=lambda j: j.finished_at or j.created_at, default=None)


class AnalysisMemory(Listener):
    """On verified or ineffective: remember the issue's analysis with that outcome."""

    name = "analysis-memory"
    remote = True

    def on_verified(self, event: Event) -> str | None:
        """The fix held."""
        return self._remember(event, "verified")

    def on_ineffective(self, event: Event) -> str | None:
        """The fix did not hold."""
        return self._remember(event, "ineffective")

    def _remember(self, event: Event, outcome: str) -> str | None:
        job = event.job
        if job is None or not job.sentry_issue_id:
            return None
        store = self.ctx.store
        analysis_job = latest_analysis(store.get_many(store.jobs_for_issue(job.sentry_issue_id)))
        if analysis_job is None or analysis_job.output is None:
            return None
        signature = Signature.from_record(analysis_job.output["signature"])
        if signature is None:
            return None
        analysis = analysis_job.output["analysis"]
        fix = analysis.get("suggested_fix") or {}
        MemoryStore(store.client, self.ctx.settings.job_retention_days * 86400).remember(
            Memory(
                signature=signature,
                issue_id=job.sentry_issue_id,
                root_cause=str(analysis.get("root_cause") or "")[:2000],
                fix=str(fix.get("explanation") or "")[:2000],
                outcome=outcome,
                job=job.id,
                analysis_job=analysis_job.id,
                pull_request=(job.output or {}).get("pull_request"),
                at=time.time(),
            )
        )
        return f"remembered analysis {analysis_job.id} of issue {job.sentry_issue_id} as {outcome}"
