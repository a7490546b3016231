"""The job store a worker process uses, built once per process."""

from __future__ import annotations

from functools import lru_cache

from remediator.jobs import JobStore, redis_client
from remediator.settings import get_settings


@lru_cache(maxsize=1)
def worker_store() -> JobStore:
    """The job store on the configured broker's Redis."""
    settings = get_settings()
    return JobStore(redis_client(settings.effective_broker_url()), settings.job_retention_days)
