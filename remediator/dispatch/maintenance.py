"""The maintenance sweep's part (beat, every interval): records whose message was lost."""

from __future__ import annotations

import logging
import time
from typing import cast

from remediator.dispatch.submit import Submission
from remediator.jobs import JobStatus
from remediator.jobs.keys import RECONCILE_LOCK_KEY, status_index
from remediator.jobs.queues import message_task_ids
from remediator.remediation_scripts import registry

log = logging.getLogger(__name__)

RECONCILE_LOCK_SECONDS = 60
RECONCILE_SECOND_LOOK_SECONDS = 0.5


class Maintenance(Submission):
    """Mends what a transaction could not cover (a Sentinel failover that lost writes)."""

    def reconcile(self, tiers: tuple[str, ...], older_than: float) -> dict[str, list[str]]:
        """Jobs recorded `queued` longer than `older_than` seconds whose message is on no
        list and in no worker's hands (Redis failed between the record and the publish, or
        a message was purged): queue the idempotent ones again, mark the rest
        `needs_attention`. Looked at twice, a moment apart, so a message in flight between
        a list and a worker is never taken for lost."""
        client = self.store.client
        if not client.set(RECONCILE_LOCK_KEY, "1", nx=True, ex=RECONCILE_LOCK_SECONDS):
            return {"requeued": [], "needs_attention": []}
        horizon = time.time() - older_than
        queued = client.zrangebyscore(status_index(JobStatus.QUEUED), "-inf", horizon)
        candidates = set(cast(list[str], queued))
        lost = candidates - message_task_ids(client, tiers) if candidates else set()
        if lost:
            time.sleep(RECONCILE_SECOND_LOOK_SECONDS)
            lost -= message_task_ids(client, tiers)
        outcome: dict[str, list[str]] = {"requeued": [], "needs_attention": []}
        for job_id in sorted(lost):
            job = self.store.get(job_id)
            if job is None or job.status != JobStatus.QUEUED or job.tier not in tiers:
                continue
            if job.settle_until is not None and job.settle_until + older_than > time.time():
                continue  # settling: its message is sent when the settle task ends the wait
            script = registry().get(job.script)
            if script is not None and script.idempotent:
                self._send(job)
                self.store.add_note(
                    job.id, "reconcile", ok=True, detail="no message for it was on the broker: queued again"
                )
                outcome["requeued"].append(job.id)
            elif self.lifecycle.move(
                job,
                JobStatus.QUEUED,
                JobStatus.NEEDS_ATTENTION,
                reason=(
                    "no message for it was on the broker (lost between its record and its publish); "
                    f"{job.script!r} is not idempotent, so it is not queued again blindly: resubmit it"
                ),
                finished_at=time.time(),
            ):
                outcome["needs_attention"].append(job.id)
        if outcome["requeued"] or outcome["needs_attention"]:
            log.warning("reconciliation: %s", outcome)
        return outcome
