"""The rules' health URLs, probed every minute by beat (the infrastructure page's history)."""

from __future__ import annotations

from celery import shared_task

from remediator import defaults
from remediator.infrastructure.probes import BEAT_TIMEOUT, probe_all, record
from remediator.infrastructure.targets import health_targets
from remediator.tasks.worker_process import worker_lifecycle, worker_rules


@shared_task(name=defaults.PROBE_TASK, ignore_result=True)
def probe_targets() -> dict[str, int | None]:
    """Probe every health URL the rules name (templated ones are left out) and keep the
    answers; returns each URL's status."""
    urls = [t.url for t in health_targets(worker_rules()) if not t.templated]
    found = probe_all(urls, BEAT_TIMEOUT, by="beat")
    if found:
        record(worker_lifecycle().store.client, found)
    return {url: p.status for url, p in found.items()}
