"""The operators' decisions on jobs that wait (the console, the API and the CLI): approve,
reject, release, discard; and approvals that expire."""

from __future__ import annotations

import time
from typing import cast

from remediator.dispatch.submit import Submission
from remediator.errors import JobNotFound, JobStateError
from remediator.jobs import Job, JobStatus
from remediator.jobs.keys import AWAITING_KEY


class Decisions(Submission):
    """A person decides on a job that waits for approval or was held while paused."""

    def approve(self, job_id: str, by: str) -> Job:
        """A person approves a waiting job: it is queued (unless it has expired). A job that
        needs several approvers waits until that many different people have approved it."""
        job = self.store.get(job_id)
        if job is None:
            raise JobNotFound(f"no job {job_id}")
        if job.status == JobStatus.AWAITING_APPROVAL and time.time() - job.created_at > self.approval_ttl:
            self.expire(job_id)
            raise JobStateError(f"job {job_id} waited over {self.approval_ttl:g}s: it has expired")
        approvers = [by]
        if job.approvers_needed > 1:
            added = self.store.add_approval(job_id, by, job.approvers_needed)
            if added is None:
                current = self.store.get(job_id)
                raise JobStateError(
                    f"job {job_id} is {current.status.value if current else 'gone'}, not awaiting_approval"
                )
            new, approvers = added
            if not new:
                raise JobStateError(
                    f"{by} has already approved job {job_id}: "
                    f"it needs {job.approvers_needed} different approvers"
                )
            if len(approvers) < job.approvers_needed:
                waiting = self.store.get(job_id)
                assert waiting is not None
                return waiting
        names = " and ".join(approvers)
        job = self.lifecycle.decide(
            job_id,
            JobStatus.AWAITING_APPROVAL,
            JobStatus.QUEUED,
            actor=by,
            approved_by=", ".join(approvers),
            reason=f"approved by {names}",
        )
        self.store.client.zrem(AWAITING_KEY, job_id)
        self._send(job)
        return job

    def reject(self, job_id: str, by: str, why: str = "") -> Job:
        """A person rejects a waiting job: it never runs."""
        job = self.lifecycle.decide(
            job_id,
            JobStatus.AWAITING_APPROVAL,
            JobStatus.REJECTED,
            actor=by,
            approved_by=None,
            reason=f"rejected by {by}" + (f": {why}" if why else ""),
            finished_at=time.time(),
        )
        self.store.client.zrem(AWAITING_KEY, job_id)
        return job

    def expire(self, job_id: str) -> Job | None:
        """A waiting job nobody decided on in time (None if it was decided meanwhile)."""
        try:
            return self.lifecycle.decide(
                job_id,
                JobStatus.AWAITING_APPROVAL,
                JobStatus.EXPIRED,
                reason=f"not approved within {self.approval_ttl:g}s",
                finished_at=time.time(),
            )
        except JobStateError:
            return None
        finally:
            self.store.client.zrem(AWAITING_KEY, job_id)

    def expire_stale(self) -> list[str]:
        """Expire every job that has waited for approval longer than the TTL."""
        cutoff = time.time() - self.approval_ttl
        stale = cast(list[str], self.store.client.zrangebyscore(AWAITING_KEY, "-inf", cutoff))
        return [job_id for job_id in stale if self.expire(job_id)]

    def release(self, job_id: str, by: str) -> Job:
        """Queue a job held while remediation was paused."""
        job = self.lifecycle.decide(
            job_id, JobStatus.HELD, JobStatus.QUEUED, actor=by, reason=f"released by {by}"
        )
        self._send(job)
        return job

    def discard(self, job_id: str, by: str) -> Job:
        """Drop a job held while remediation was paused."""
        return self.lifecycle.decide(
            job_id,
            JobStatus.HELD,
            JobStatus.DISCARDED,
            actor=by,
            reason=f"discarded by {by}",
            finished_at=time.time(),
        )
