"""The console's single pane beside the jobs: the Sentry issues remediator has seen, the
infrastructure it relies on and acts on, and the trends. Routes on the dashboard's
blueprint (its sign-in, CSRF and headers apply), thin: the views' documents are built in
issues_view, infrastructure_view and trends_view."""

from __future__ import annotations

from flask import flash, render_template, request
from flask.typing import ResponseReturnValue

from remediator.errors import JobNotFound
from remediator.infrastructure.broker import broker_view
from remediator.infrastructure.sentry_side import sentry_side
from remediator.issue_log.model import Issue
from remediator.trends.buckets import RANGES
from remediator.web import infrastructure_view, issues_view, trends_view
from remediator.web.dashboard import PAGE_SIZE, bp, is_live, unchanged
from remediator.web.runtime import runtime


@bp.get("/issues")
def issues() -> ResponseReturnValue:
    """The issues seen, open first, then the latest; filtered; the first page stays live."""
    rt = runtime()
    seen, same = unchanged()
    if same:
        return "", 204
    filters = issues_view.filters_from(request.args)
    cursor = request.args.get("cursor") or None
    try:
        listing = rt.issues.page(filters, PAGE_SIZE, cursor)
    except ValueError as exc:
        flash(str(exc), "error")
        listing, cursor = rt.issues.page(filters, PAGE_SIZE), None
    query = {
        k: v for k in ("category", "project", "environment", "outcome", "open") if (v := request.args.get(k))
    }
    context = {
        "rows": issues_view.with_jobs(rt.store, listing.issues),
        "next_cursor": listing.next_cursor,
        "searched": listing.searched,
        "cursor": cursor,
        "filters": filters,
        "query": query,
        "seen": seen,
        "categories": issues_view.CATEGORIES,
        "outcomes": issues_view.OUTCOMES,
    }
    return render_template("_issues_table.html" if is_live() else "issues.html", **context)


@bp.get("/issues/<issue_id>")
def issue(issue_id: str) -> ResponseReturnValue:
    """One issue: what Sentry said last, its jobs, and its story across webhooks and jobs."""
    rt = runtime()
    seen, same = unchanged()
    if same:
        return "", 204
    found = rt.issues.get(issue_id)
    if found is None and not rt.store.jobs_for_issue(issue_id):
        days = rt.settings.job_retention_days
        raise JobNotFound(f"no issue {issue_id} seen in the last {days} days")
    [row] = issues_view.with_jobs(rt.store, [found or Issue(id=issue_id)])
    context = {
        "row": row,
        "known": found is not None,
        "story": issues_view.story(rt.issues, rt.store, issue_id),
        "seen": seen,
    }
    return render_template("_issue_detail.html" if is_live() else "issue.html", **context)


@bp.get("/trends")
def trends() -> ResponseReturnValue:
    """Charts of the last 24 hours or 7 days (jobs, recovery, queues, webhooks), each with
    its table; read from the hourly buckets, never from the records."""
    rt = runtime()
    name = trends_view.range_of(request.args.get("range"))
    doc = trends_view.document(rt.store.client, rt.settings.tiers, name)
    context = {
        "doc": doc,
        "ranges": list(RANGES),
        "charts": trends_view.chart_payload(doc),
        "rows": trends_view.rows,
    }
    return render_template("trends.html", **context)


@bp.get("/infrastructure")
def infrastructure() -> ResponseReturnValue:
    """The broker and the intake spool now; the health URLs' last hour; the URLs probed now
    and Sentry's side load after the page."""
    rt = runtime()
    settings = rt.settings
    broker = broker_view(rt.store.client, settings.effective_broker_url(), settings.sentinel_master)
    context = {
        "broker": broker,
        "spool_depth": len(rt.spool),
        "targets": infrastructure_view.target_rows(rt),
    }
    return render_template("infrastructure.html", **context)


@bp.get("/infrastructure/probes")
def probes() -> ResponseReturnValue:
    """The rules' health URLs, probed now (a short timeout each, all at once), with the
    answers of the last hour (the beat's too)."""
    return render_template("_probes.html", targets=infrastructure_view.target_rows(runtime(), probe_now=True))


@bp.get("/infrastructure/sentry")
def sentry() -> ResponseReturnValue:
    """Sentry's side: its API, the rate-limit headroom, the tiers' cron monitors, uptime."""
    return render_template("_sentry_side.html", side=sentry_side(runtime().settings))


AUDIT_SHOWN = 200
"""Most audit entries the page lists (the newest)."""


@bp.get("/audit")
def audit() -> ResponseReturnValue:
    """Who did what, newest first, and whether the trail's chain is whole."""
    trail = runtime().audit
    checked, problem = trail.verify()
    entries = trail.entries()[-AUDIT_SHOWN:][::-1]
    return render_template("audit.html", entries=entries, checked=checked, problem=problem)
