"""The `rebuild` verification strategy: a build fix is verified by its own final rebuild;
its Sentry issue is resolved when the rule asks and the fix's pull request was merged
(asked of GitHub when the verification runs)."""

from __future__ import annotations

from functools import partial

from remediator.fixes.pull_request import pull_merged
from remediator.fixes.rebuild_check import verify_rebuild
from remediator.jobs import Job
from remediator.lifecycle import Event, Lifecycle, Listener
from remediator.sentry.api import api_for
from remediator.sentry.quiet_window import resolve
from remediator.settings import Settings

STRATEGY = "rebuild"


class RebuildVerification(Listener):
    """On a build fix's success: verified when its final rebuild passed (remote: it asks
    GitHub about the pull request and may resolve the Sentry issue)."""

    name = "rebuild-verification"
    remote = True
    strategy = STRATEGY

    def accepts(self, event: Event) -> bool:
        """Only jobs of this strategy."""
        return event.job is not None and event.job.verification == STRATEGY

    @classmethod
    def will_verify(cls, job: Job, settings: Settings) -> bool:
        """Every job of this strategy is looked at after success."""
        return job.verification == STRATEGY

    def on_succeeded(self, event: Event) -> str | None:
        """Decide verified (or leave a not-reproducible build `succeeded`)."""
        job = self.ctx.store.get(event.job.id) if event.job is not None else None
        if job is None:
            return None
        lifecycle = Lifecycle(self.ctx.store, self.ctx.bus)
        github = str((job.output or {}).get("repository") or "")
        api = api_for(self.ctx.settings)
        return verify_rebuild(
            lifecycle,
            job,
            merged=partial(pull_merged, self.ctx.settings, github),
            resolve=None if api is None else partial(resolve, lifecycle, api),
        )
