"""Sentry's listeners: comments on the issue, the `sentry` verification strategy, telemetry."""

from __future__ import annotations

from remediator import defaults
from remediator.errors import ListenerFailed
from remediator.jobs import Job
from remediator.lifecycle import Event, Listener, ListenerContext
from remediator.sentry import comments, telemetry
from remediator.sentry.api import RETRY_STATUSES, SentryApiError, api_for
from remediator.settings import Settings

DUPLICATE_COMMENT = "already posted that comment"
"""Sentry's answer to a repeated comment: for a retried write-back it means success."""


class SentryComments(Listener):
    """Write-back: a comment on the job's Sentry issue at each step that matters."""

    name = "sentry-comments"
    remote = True

    @classmethod
    def active(cls, ctx: ListenerContext) -> bool:
        """Only with Sentry's REST API configured."""
        return ctx.settings.writeback_enabled

    def _post(self, event: Event, text: str) -> str | None:
        job = event.job
        if job is None or not job.sentry_issue_id:
            return None
        api = api_for(self.ctx.settings)
        if api is None:
            return None
        try:
            api.add_comment(job.sentry_issue_id, text)
        except SentryApiError as exc:
            if exc.status == 400 and DUPLICATE_COMMENT in str(exc):
                return "already posted"
            retry = exc.status is None or exc.status in RETRY_STATUSES
            raise ListenerFailed(f"comment on issue {job.sentry_issue_id}: {exc}", retry=retry) from exc
        return f"commented on issue {job.sentry_issue_id}"

    def _job(self, event: Event) -> Job:
        assert event.job is not None
        return event.job

    def on_submitted(self, event: Event) -> str | None:
        """Announce the job."""
        return self._post(event, comments.submitted(self._job(event)))

    on_released = on_submitted

    def on_approved(self, event: Event) -> str | None:
        """Say who approved the job."""
        return self._post(event, comments.approved(self._job(event)))

    def on_dry_run(self, event: Event) -> str | None:
        """Say what would have run."""
        return self._post(event, comments.dry_run(self._job(event)))

    def on_awaiting_approval(self, event: Event) -> str | None:
        """Say the job waits for a person."""
        return self._post(event, comments.awaiting_approval(self._job(event)))

    def on_succeeded(self, event: Event) -> str | None:
        """Say how the job ended."""
        job = self._job(event)
        return self._post(event, comments.finished(job, self.ctx.settings.job_url(job.id)))

    on_failed = on_needs_attention = on_succeeded

    def on_verified(self, event: Event) -> str | None:
        """Say the fix held (and whether the issue is being resolved)."""
        job = self._job(event)
        if event.detail.get("rebuild"):
            d = event.detail
            return self._post(
                event, comments.rebuilt(job, d.get("pull_request"), d.get("merged"), bool(d.get("resolves")))
            )
        first_seen = float(event.detail.get("first_seen") or job.created_at)
        return self._post(event, comments.verified(job, first_seen, bool(event.detail.get("resolves"))))

    def on_ineffective(self, event: Event) -> str | None:
        """Say events kept arriving."""
        job = self._job(event)
        last_seen = float(event.detail.get("last_seen") or job.finished_at or 0)
        return self._post(event, comments.ineffective(job, last_seen))


class SentryVerification(Listener):
    """The `sentry` verification strategy: schedules the quiet-window check after success."""

    name = "sentry-verification"
    remote = True
    strategy = "sentry"

    @classmethod
    def active(cls, ctx: ListenerContext) -> bool:
        """Only with Sentry's REST API configured: without it nothing can be verified (the
        job's comment and record say so: it stays `succeeded`)."""
        return ctx.settings.writeback_enabled

    def accepts(self, event: Event) -> bool:
        """Only jobs of this strategy that are about a Sentry issue."""
        job = event.job
        return job is not None and job.verification == "sentry" and bool(job.sentry_issue_id)

    @classmethod
    def will_verify(cls, job: Job, settings: Settings) -> bool:
        """Whether a success of this job will be checked (else it is final at once)."""
        return job.verification == "sentry" and bool(job.sentry_issue_id) and settings.writeback_enabled

    def on_succeeded(self, event: Event) -> str | None:
        """Queue the check for verify_after seconds from now (on the job's tier, first in line)."""
        job = event.job
        if job is None or job.verification != self.strategy or not job.sentry_issue_id:
            return None
        self.ctx.celery.send_task(
            defaults.VERIFY_TASK,
            args=[job.id],
            queue=job.queue,
            priority=defaults.FOLLOWUP_PRIORITY,
            countdown=job.verify_after,
            ignore_result=True,
        )
        return f"verification in {job.verify_after:g}s"


class SentryTelemetry(Listener):
    """Names and tags the job's transaction, sets its status, reports failures. In-process:
    the SDK sends from its own background thread."""

    name = "sentry-telemetry"

    @classmethod
    def active(cls, ctx: ListenerContext) -> bool:
        """Only with SENTRY_DSN set."""
        return bool(ctx.settings.sentry_dsn)

    def on_started(self, event: Event) -> str | None:
        """Open the job's transaction."""
        if event.job is not None:
            telemetry.start_job(event.job)
        return None

    def on_succeeded(self, event: Event) -> str | None:
        """Close the transaction, ok."""
        telemetry.end_job(ok=True)
        return None

    on_skipped = on_succeeded

    def on_failed(self, event: Event) -> str | None:
        """Send the failure as an error event and close the transaction failed (for jobs
        that ran: a job refused at submission has no transaction)."""
        if event.job is not None and event.job.attempts > 0:
            telemetry.end_job(ok=False, failure=event.job)
        return None

    def on_needs_attention(self, event: Event) -> str | None:
        """Close the transaction failed."""
        telemetry.end_job(ok=False)
        return None

    on_cancelled = on_needs_attention
