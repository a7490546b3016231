"""Jobs: the record, its Redis layout and store, the storm-control gate, operator switches."""

from remediator.jobs.model import FINISHED, OUTCOMES, PENDING, Job, JobStatus
from remediator.jobs.store import JobStore, redis_client

__all__ = ["FINISHED", "OUTCOMES", "PENDING", "Job", "JobStatus", "JobStore", "redis_client"]
