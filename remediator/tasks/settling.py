"""Settling: the end of a job's wait (cancel it when Sentry resolved the issue meanwhile,
else queue it), and what `settle: auto` learns per rule from its issues (beat, every 10 min)."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from celery import current_app, shared_task

from remediator import defaults
from remediator.dispatch import dispatcher_for
from remediator.durations import span_text
from remediator.issue_log.store import IssueLog
from remediator.jobs import JobStatus
from remediator.jobs.keys import rule_index, settle_key
from remediator.rules.settling import Sample, learned_wait
from remediator.sentry.api import SentryApiError, api_for
from remediator.settings import get_settings
from remediator.tasks.worker_process import worker_lifecycle, worker_rules

log = logging.getLogger(__name__)

SETTLED_STATUSES = frozenset({"resolved", "ignored"})
"""An issue in one of these when the wait ends needs no job."""


@shared_task(name=defaults.SETTLE_TASK, ignore_result=True)
def settle(job_id: str) -> dict[str, Any]:
    """The wait is over: ask Sentry about the issue once; resolved (or ignored) cancels the
    job, anything else (Sentry unreachable included) queues it."""
    settings = get_settings()
    lifecycle = worker_lifecycle()
    job = lifecycle.store.get(job_id)
    if job is None or job.status != JobStatus.QUEUED:
        return {"skipped": job.status.value if job else "no record"}
    waited = span_text(time.time() - job.created_at)
    api, status = api_for(settings), None
    if api is not None and job.sentry_issue_id:
        try:
            status = api.get_issue(job.sentry_issue_id).get("status")
        except SentryApiError as exc:
            lifecycle.store.add_note(job.id, "settle", ok=False, error=f"Sentry not asked: {exc}; it runs")
    if status in SETTLED_STATUSES:
        reason = f"resolved by itself while settling ({status} in Sentry after {waited})"
        moved = lifecycle.move(
            job,
            JobStatus.QUEUED,
            JobStatus.CANCELLED,
            detail={"reason": reason},
            error=reason,
            finished_at=time.time(),
        )
        return {"cancelled": moved is not None}
    dispatcher_for(settings, current_app._get_current_object(), lifecycle).send_settled(job)
    lifecycle.store.add_note(
        job.id, "settle", ok=True, detail=f"settled {waited}: the issue is still {status or 'open'}; queued"
    )
    return {"queued": True}


@shared_task(name=defaults.LEARN_SETTLE_TASK, ignore_result=True)
def learn_settle() -> dict[str, float]:
    """For every `settle: auto` rule: how its issues of the last 30 days resolved, and the
    wait that follows (kept for the dispatcher in `remediator:settle:<rule>`)."""
    settings = get_settings()
    store = worker_lifecycle().store
    log_ = IssueLog(store.client, settings.job_retention_days)
    learned = {}
    since = time.time() - defaults.SETTLE_LEARN_DAYS * 86400
    for rule in worker_rules().rules:
        if rule.settle != "auto":
            continue
        ids = [str(i) for i in store.client.zrangebyscore(rule_index(rule.name), since, "+inf")]
        samples = samples_of(store.get_many(ids), log_)
        seconds, why = learned_wait(samples, rule.settle_max, defaults.SETTLE_LEARN_DAYS)
        store.client.set(
            settle_key(rule.name), json.dumps({"seconds": seconds, "why": why, "at": time.time()})
        )
        learned[rule.name] = seconds
        log.info("rule %s settles %.0fs: %s", rule.name, seconds, why)
    return learned


def samples_of(jobs: list[Any], issues: IssueLog) -> list[Sample]:
    """Per issue of these jobs: whether any of them ran, and how long after the issue's
    first webhook Sentry resolved it."""
    ran: dict[str, bool] = {}
    for job in jobs:
        if job.sentry_issue_id:
            ran[job.sentry_issue_id] = ran.get(job.sentry_issue_id, False) or job.attempts > 0
    samples: list[Sample] = []
    for issue_id, any_ran in ran.items():
        issue = issues.get(issue_id)
        resolved = (
            issue.resolved_at - issue.first_seen
            if issue is not None and issue.status == "resolved" and issue.resolved_at
            else None
        )
        samples.append((any_ran, resolved))
    return samples
