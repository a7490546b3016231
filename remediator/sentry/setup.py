"""`remediator sentry setup`: the seed's Sentry side from one command, idempotent.

What should exist is built here from the settings (pure); `SentrySetup` reads what does
exist through the REST API and creates or updates only what differs:
- a cron monitor per tier (`batch-worker-<tier>`), the config the heartbeats upsert;
- the "Batch System Health" dashboard with the seed's widgets;
- optionally, in named projects, an issue alert rule whose action is this integration, so
  issue alerts reach remediator as `event_alert` webhooks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from remediator import defaults
from remediator.errors import ConfigurationError
from remediator.sentry.api import SentryApi, SentryApiError
from remediator.settings import Settings

DASHBOARD_TITLE = "Batch System Health"
ALERT_RULE_NAME = "remediator: send issues to remediator"
SENTRY_APP_ACTION = "sentry.rules.actions.notify_event_sentry_app.NotifyEventSentryAppAction"
ALERT_CONDITIONS = (
    {"id": "sentry.rules.conditions.first_seen_event.FirstSeenEventCondition"},
    {"id": "sentry.rules.conditions.regression_event.RegressionEventCondition"},
)
CATEGORY_FILTER = "sentry.rules.filters.issue_category.IssueCategoryFilter"
ALERT_CATEGORIES = (("1", "error"), ("2", "performance"), ("4", "cron"), ("7", "uptime"))
"""The issue categories the shipped rules act on, as IssueCategoryFilter names them
(GroupCategory values, getsentry/sentry `src/sentry/rules/filters/issue_category.py`):
feedback, replay and the rest never reach remediator."""
DRY_RUN_WORDS = {"created": "would create", "updated": "would update"}
JOB_TRANSACTIONS = f"transaction.op:{defaults.JOB_TRANSACTION_OP}"


@dataclass(frozen=True)
class Change:
    """What setup did (or, with --dry-run, would do) to one thing."""

    what: str
    action: str
    """created, updated, unchanged (or: would create, would update)."""
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.what}: {self.action}" + (f" ({self.detail})" if self.detail else "")


def project_of(dsn: str | None) -> str | None:
    """The project id at the end of a DSN's path."""
    if not dsn:
        return None
    project = urlsplit(dsn).path.strip("/").rsplit("/", 1)[-1]
    return project or None


def monitor_config(settings: Settings) -> dict[str, Any]:
    """The cron monitor's config in the REST API's form (the heartbeat upserts the same)."""
    schedule = defaults.MONITOR_CONFIG["schedule"]
    return {
        "schedule_type": schedule["type"],
        "schedule": [schedule["value"], schedule["unit"]],
        "checkin_margin": defaults.MONITOR_CONFIG["checkin_margin"],
        "max_runtime": defaults.MONITOR_CONFIG["max_runtime"],
        "failure_issue_threshold": defaults.MONITOR_CONFIG["failure_issue_threshold"],
        "recovery_threshold": defaults.MONITOR_CONFIG["recovery_threshold"],
        "timezone": settings.timezone,
    }


def _widget(
    title: str,
    display: str,
    widget_type: str,
    aggregates: list[str],
    conditions: str,
    columns: list[str] | None = None,
    orderby: str = "",
    layout: tuple[int, int, int, int] = (0, 0, 2, 2),
) -> dict[str, Any]:
    columns = columns or []
    x, y, w, h = layout
    return {
        "title": title,
        "displayType": display,
        "widgetType": widget_type,
        "interval": "5m",
        "queries": [
            {
                "name": "",
                "fields": [*columns, *aggregates],
                "aggregates": aggregates,
                "columns": columns,
                "conditions": conditions,
                "orderby": orderby,
            }
        ],
        "layout": {"x": x, "y": y, "w": w, "h": h, "minH": 2},
    }


def dashboard() -> dict[str, Any]:
    """The seed's dashboard: jobs by status, failed jobs, p95 duration by script, check-ins."""
    return {
        "title": DASHBOARD_TITLE,
        "widgets": [
            _widget(
                "Jobs by status",
                "line",
                "transaction-like",
                ["count()"],
                JOB_TRANSACTIONS,
                columns=["transaction.status"],
                orderby="-count()",
                layout=(0, 0, 3, 2),
            ),
            _widget(
                "Failed jobs",
                "big_number",
                "transaction-like",
                ["count()"],
                f"{JOB_TRANSACTIONS} !transaction.status:ok",
                layout=(3, 0, 1, 2),
            ),
            _widget(
                "Job duration p95 by script",
                "line",
                "transaction-like",
                ["p95(transaction.duration)"],
                JOB_TRANSACTIONS,
                columns=["transaction"],
                orderby="-p95(transaction.duration)",
                layout=(0, 2, 3, 2),
            ),
            _widget(
                "Worker check-ins (cron monitor issues)",
                "table",
                "issue",
                [],
                "is:unresolved issue.category:cron",
                columns=["issue", "title", "events"],
                layout=(3, 2, 1, 2),
            ),
        ],
    }


def alert_rule(installation: str) -> dict[str, Any]:
    """An issue alert rule that sends new and regressed issues of the categories the
    shipped rules act on (errors, performance, cron, uptime) to this integration; their
    events carry the environment and tags the rules test, so no lookup is needed."""
    return {
        "name": ALERT_RULE_NAME,
        "actionMatch": "any",
        "filterMatch": "any",
        "frequency": 5,
        "conditions": [dict(c) for c in ALERT_CONDITIONS],
        "filters": [{"id": CATEGORY_FILTER, "include": "true", "value": v} for v, _ in ALERT_CATEGORIES],
        "actions": [{"id": SENTRY_APP_ACTION, "sentryAppInstallationUuid": installation, "hasSchema": False}],
    }


def _differences(current: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    return [
        f"{key} {current.get(key)!r} → {value!r}"
        for key, value in wanted.items()
        if _normal(current.get(key)) != _normal(value)
    ]


def _normal(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_normal(v) for v in value]
    if isinstance(value, list):
        return [_normal(v) for v in value]
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items() if k not in ("id", "widgetId")}
    return value


class SentrySetup:
    """Reads what exists, changes what differs (nothing with dry_run), says what it did."""

    def __init__(
        self,
        api: SentryApi,
        settings: Settings,
        dry_run: bool = False,
        echo: Callable[[str], None] = print,
    ) -> None:
        self.api, self.settings, self.dry_run, self.echo = api, settings, dry_run, echo
        self.org = api.org

    def _done(self, what: str, action: str, detail: str = "") -> Change:
        if self.dry_run:
            action = DRY_RUN_WORDS.get(action, action)
        change = Change(what, action, detail)
        self.echo(str(change))
        return change

    def run(self, project: str | None = None, alert_projects: tuple[str, ...] = ()) -> list[Change]:
        """Monitors, the dashboard, and alert rules in the given projects."""
        changes = self.monitors(project)
        changes.append(self.dashboard())
        if alert_projects:
            installation = self.installation()
            changes += [self.alert_rule(p, installation) for p in alert_projects]
        return changes

    # -- monitors -------------------------------------------------------------------------------

    def monitors(self, project: str | None = None) -> list[Change]:
        """One cron monitor per tier."""
        project = project or project_of(self.settings.sentry_dsn)
        if project is None:
            raise ConfigurationError(
                "the cron monitors belong to remediator's own project: set SENTRY_DSN or pass --project"
            )
        config = monitor_config(self.settings)
        return [
            self._monitor(defaults.MONITOR_SLUG.format(tier=tier), tier, project, config)
            for tier in self.settings.tiers
        ]

    def _monitor(self, slug: str, tier: str, project: str, config: dict[str, Any]) -> Change:
        path = f"/organizations/{self.org}/monitors/"
        what = f"cron monitor {slug}"
        try:
            current = self.api.request("GET", f"{path}{slug}/")
        except SentryApiError as exc:
            if exc.status != 404:
                raise
            current = None
        if current is None:
            if not self.dry_run:
                body = {
                    "project": project,
                    "name": f"remediator {tier} worker",
                    "slug": slug,
                    "config": config,
                }
                self.api.request("POST", path, json=body)
            return self._done(what, "created", "every minute, margin 2 min, max runtime 5 min, issue after 3")
        differences = _differences(current.get("config") or {}, config)
        if not differences:
            return self._done(what, "unchanged")
        if not self.dry_run:
            self.api.request("PUT", f"{path}{slug}/", json={"config": config})
        return self._done(what, "updated", "; ".join(differences))

    # -- the dashboard ------------------------------------------------------------------------------

    def dashboard(self) -> Change:
        """The Batch System Health dashboard."""
        wanted = dashboard()
        path = f"/organizations/{self.org}/dashboards/"
        what = f"dashboard {DASHBOARD_TITLE!r}"
        listed = self.api.request("GET", path) or []
        found = next((d for d in listed if d.get("title") == DASHBOARD_TITLE), None)
        if found is None:
            if not self.dry_run:
                self.api.request("POST", path, json=wanted)
            return self._done(what, "created", f"{len(wanted['widgets'])} widgets")
        current = self.api.request("GET", f"{path}{found['id']}/")
        if _normal(current.get("widgets")) == _normal(wanted["widgets"]):
            return self._done(what, "unchanged")
        if not self.dry_run:
            self.api.request("PUT", f"{path}{found['id']}/", json=wanted)
        return self._done(what, "updated", "widgets differed")

    # -- issue alert rules ----------------------------------------------------------------------------

    def installation(self) -> str:
        """This integration's installation in the organization (by REMEDIATOR_SENTRY_APP_ID)."""
        app = self.settings.sentry_app_id
        if not app:
            raise ConfigurationError("alert rules target this integration: set REMEDIATOR_SENTRY_APP_ID")
        installed = self.api.request("GET", f"/organizations/{self.org}/sentry-app-installations/") or []
        for entry in installed:
            if (entry.get("app") or {}).get("uuid") == app:
                return str(entry["uuid"])
        raise ConfigurationError(f"integration {app} is not installed in organization {self.org}")

    def alert_rule(self, project: str, installation: str) -> Change:
        """The alert rule in one project."""
        wanted = alert_rule(installation)
        path = f"/projects/{self.org}/{project}/rules/"
        what = f"alert rule in {project}"
        existing = self.api.request("GET", path) or []
        found = next((r for r in existing if r.get("name") == ALERT_RULE_NAME), None)
        if found is None:
            if not self.dry_run:
                self.api.request("POST", path, json=wanted)
            kinds = ", ".join(name for _, name in ALERT_CATEGORIES)
            return self._done(what, "created", f"new and regressed {kinds} issues → this integration")
        differences = _differences(found, wanted)
        if not differences:
            return self._done(what, "unchanged")
        if not self.dry_run:
            self.api.request("PUT", f"{path}{found['id']}/", json=wanted)
        return self._done(what, "updated", "; ".join(d.split(" ", 1)[0] for d in differences))
