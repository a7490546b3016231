"""The configuration side of the Sentry stand-in: cron monitors, dashboards, sentry-app
installations and issue alert rules, validating the fields `remediator sentry setup` sends
as Sentry's serializers do (monitors/validators.py, rest_framework/dashboard.py, the rules
endpoint) and answering with the shapes Sentry answers with."""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, datetime
from typing import Any

INTERVAL_NAMES = ("year", "month", "week", "day", "hour", "minute")
MAX_MARGIN = 40_320
MAX_TIMEOUT = 10_080
MAX_THRESHOLD = 720
DISPLAY_TYPES = (
    "line",
    "area",
    "stacked_area",
    "bar",
    "table",
    "big_number",
    "top_n",
    "details",
    "categorical_bar",
)
WIDGET_TYPES = ("discover", "issue", "metrics", "error-events", "transaction-like", "spans", "logs")
LAYOUT_KEYS = ("x", "y", "w", "h", "minH")
ACTION_MATCH = ("all", "any", "none")
SENTRY_APP_ACTION = "sentry.rules.actions.notify_event_sentry_app.NotifyEventSentryAppAction"
CATEGORY_FILTER = "sentry.rules.filters.issue_category.IssueCategoryFilter"
GROUP_CATEGORIES = frozenset({"1", "2", "3", "4", "5", "6", "7", "8"})
"""GroupCategory's values (getsentry/sentry `src/sentry/issues/grouptype.py`)."""

Answer = tuple[int, dict[str, str], Any]


class SentryConfig:
    """Monitors, dashboards, installations and rules of one organization, in memory."""

    def __init__(self, org: str, project_id: int, project_slug: str = "demo") -> None:
        self.org, self.project_id, self.project_slug = org, project_id, project_slug
        self.monitors: dict[str, dict[str, Any]] = {}
        self.monitor_envs: dict[str, dict[str, dict[str, Any]]] = {}
        """Per monitor, per environment: its status and last check-in (MonitorEnvironment)."""
        self.uptime: list[dict[str, Any]] = []
        """Uptime monitors (`GET …/uptime/`), as `add_uptime_monitor` made them."""
        self.dashboards: dict[str, dict[str, Any]] = {}
        self.installations: list[dict[str, Any]] = []
        self.rules: dict[str, list[dict[str, Any]]] = {}
        self.writes: list[tuple[str, str]] = []
        """Every accepted POST and PUT: (method, path)."""
        self._lock = threading.Lock()
        self._ids = 0

    def install_app(self, app_uuid: str, slug: str = "remediator") -> str:
        """Install an integration in the organization; returns the installation's uuid."""
        with self._lock:
            installation = f"{len(self.installations) + 1:08d}-0000-4000-8000-{app_uuid[-12:]:0>12}"
            self.installations.append(
                {
                    "uuid": installation,
                    "status": "installed",
                    "app": {"uuid": app_uuid, "slug": slug},
                    "organization": {"slug": self.org},
                }
            )
            return installation

    def reset(self) -> None:
        with self._lock:
            self.monitors.clear()
            self.monitor_envs.clear()
            self.uptime.clear()
            self.dashboards.clear()
            self.installations.clear()
            self.rules.clear()
            self.writes.clear()

    def _next_id(self) -> str:
        self._ids += 1
        return str(self._ids)

    # -- routing ------------------------------------------------------------------------------

    def handle(self, method: str, path: str, body: Any) -> Answer | None:
        """Answer a configuration call, or None when the path is not one of them."""
        org = re.escape(self.org)
        routes: list[tuple[str, str, Any]] = [
            (
                "GET",
                rf"/api/0/organizations/{org}/monitors/",
                lambda m: (200, {}, [self._monitor(slug) for slug in self.monitors]),
            ),
            ("GET", rf"/api/0/organizations/{org}/uptime/", lambda m: (200, {}, list(self.uptime))),
            ("POST", rf"/api/0/organizations/{org}/monitors/", lambda m: self._create_monitor(body)),
            ("GET", rf"/api/0/organizations/{org}/monitors/([^/]+)/", self._get_monitor),
            (
                "PUT",
                rf"/api/0/organizations/{org}/monitors/([^/]+)/",
                lambda m: self._update_monitor(m[1], body),
            ),
            ("GET", rf"/api/0/organizations/{org}/dashboards/", lambda m: (200, {}, self._dashboard_list())),
            ("POST", rf"/api/0/organizations/{org}/dashboards/", lambda m: self._save_dashboard(None, body)),
            ("GET", rf"/api/0/organizations/{org}/dashboards/(\d+)/", self._get_dashboard),
            (
                "PUT",
                rf"/api/0/organizations/{org}/dashboards/(\d+)/",
                lambda m: self._save_dashboard(m[1], body),
            ),
            (
                "GET",
                rf"/api/0/organizations/{org}/sentry-app-installations/",
                lambda m: (200, {}, self.installations),
            ),
            ("GET", rf"/api/0/projects/{org}/([^/]+)/rules/", lambda m: self._list_rules(m[1])),
            ("POST", rf"/api/0/projects/{org}/([^/]+)/rules/", lambda m: self._save_rule(m[1], None, body)),
            (
                "PUT",
                rf"/api/0/projects/{org}/([^/]+)/rules/(\d+)/",
                lambda m: self._save_rule(m[1], m[2], body),
            ),
        ]
        for verb, pattern, answer in routes:
            match = re.fullmatch(pattern, path)
            if match and verb == method:
                with self._lock:
                    status, extra, document = answer(match)
                    if method in ("POST", "PUT") and status < 300:
                        self.writes.append((method, path))
                    return status, extra, document
        return None

    # -- monitors -------------------------------------------------------------------------------

    def _project(self, value: Any) -> dict[str, Any] | None:
        if str(value) in (str(self.project_id), self.project_slug):
            return {"id": str(self.project_id), "slug": self.project_slug}
        return None

    def _create_monitor(self, body: Any) -> Answer:
        if not isinstance(body, dict):
            return 400, {}, {"detail": "expected an object"}
        errors: dict[str, Any] = {}
        project = self._project(body.get("project"))
        if project is None:
            errors["project"] = ["Invalid project"]
        name = body.get("name")
        if not isinstance(name, str) or not name or len(name) > 128:
            errors["name"] = ["This field is required and at most 128 characters."]
        slug = str(body.get("slug") or re.sub(r"[^a-z0-9-]+", "-", str(name).lower())).strip("-")
        if slug in self.monitors:
            errors["slug"] = [f'The slug "{slug}" is already in use.']
        config, config_errors = _monitor_config(body.get("config"), {})
        if config_errors:
            errors["config"] = config_errors
        if errors:
            return 400, {}, errors
        monitor = {
            "id": self._next_id(),
            "slug": slug,
            "name": name,
            "status": body.get("status", "active"),
            "type": "cron_job",
            "config": config,
            "project": project,
            "_created": time.time(),
        }
        self.monitors[slug] = monitor
        return 201, {}, self._monitor(slug)

    def upsert_monitor(self, slug: str, config: Any) -> None:
        """A check-in's `monitor_config` creates or updates its monitor, as Sentry's monitor
        consumer does (`_ensure_monitor_with_config` in
        src/sentry/monitors/consumers/monitor_consumer.py): named after its slug, active, a
        cron job; an invalid config is ignored, the check-in kept."""
        if not isinstance(config, dict):
            return
        with self._lock:
            monitor = self.monitors.get(slug)
            validated, errors = _monitor_config(config, {})
            if errors:
                return
            if monitor is None:
                self.monitors[slug] = {
                    "id": self._next_id(),
                    "slug": slug,
                    "name": slug,
                    "status": "active",
                    "type": "cron_job",
                    "config": validated,
                    "project": {"id": str(self.project_id), "slug": self.project_slug},
                    "_created": time.time(),
                }
            elif monitor["config"] != validated:
                monitor["config"] = validated

    def _get_monitor(self, match: re.Match[str]) -> Answer:
        if match[1] not in self.monitors:
            return 404, {}, {"detail": "The requested resource does not exist"}
        return 200, {}, self._monitor(match[1])

    def note_check_in(self, slug: str, environment: str, status: str, at: float) -> None:
        """A check-in moves its monitor's environment, as Sentry's monitor consumer does
        (`mark_ok`, `mark_failed`): `ok` and `error` set the status (a new environment starts
        `active`) and the last check-in; `in_progress` changes neither."""
        with self._lock:
            if slug not in self.monitors:
                return
            env = self.monitor_envs.setdefault(slug, {}).setdefault(
                environment, {"status": "active", "lastCheckIn": None, "dateCreated": at}
            )
            if status in ("ok", "error"):
                env["status"], env["lastCheckIn"] = status, at

    def _monitor(self, slug: str) -> dict[str, Any]:
        """A monitor as MonitorSerializer gives it (src/sentry/monitors/serializers.py): its
        environments newest check-in first, each with the next check-in its schedule expects."""
        monitor = self.monitors[slug]
        schedule = monitor["config"].get("schedule")
        interval = _interval_seconds(schedule, monitor["config"].get("schedule_type"))
        margin = 60 * int(monitor["config"].get("checkin_margin") or 1)
        envs = []
        for name, env in sorted(
            self.monitor_envs.get(slug, {}).items(), key=lambda kv: -(kv[1]["lastCheckIn"] or 0)
        ):
            last = env["lastCheckIn"]
            upcoming = last + interval if last is not None and interval else None
            envs.append(
                {
                    "name": name,
                    "status": env["status"],
                    "isMuted": False,
                    "dateCreated": _iso(env["dateCreated"]),
                    "lastCheckIn": _iso(last),
                    "nextCheckIn": _iso(upcoming),
                    "nextCheckInLatest": _iso(upcoming + margin if upcoming else None),
                }
            )
        public = {k: v for k, v in monitor.items() if not k.startswith("_")}
        return {
            "isMuted": False,
            "dateCreated": _iso(monitor.get("_created")),
            **public,
            "environments": envs,
        }

    def add_uptime_monitor(self, url: str, name: str = "", up: bool = True) -> dict[str, Any]:
        """An uptime monitor of the organization, as ProjectUptimeSubscriptionSerializer gives
        it (src/sentry/uptime/endpoints/serializers.py; uptimeStatus 1 is up, 2 failed)."""
        with self._lock:
            monitor: dict[str, Any] = {
                "id": self._next_id(),
                "projectSlug": self.project_slug,
                "environment": "production",
                "name": name or f"Uptime Monitoring for {url}",
                "status": "active",
                "uptimeStatus": 1 if up else 2,
                "mode": 1,
                "url": url,
                "method": "GET",
                "headers": [],
                "body": None,
                "intervalSeconds": 60,
                "timeoutMs": 10000,
                "owner": None,
                "traceSampling": False,
            }
            self.uptime.append(monitor)
            return monitor

    def _update_monitor(self, slug: str, body: Any) -> Answer:
        monitor = self.monitors.get(slug)
        if monitor is None:
            return 404, {}, {"detail": "The requested resource does not exist"}
        if not isinstance(body, dict):
            return 400, {}, {"detail": "expected an object"}
        errors: dict[str, Any] = {}
        if "project" in body and self._project(body["project"]) is None:
            errors["project"] = ["Invalid project"]
        if "name" in body and (not isinstance(body["name"], str) or len(body["name"]) > 128):
            errors["name"] = ["Ensure this field has no more than 128 characters."]
        config = monitor["config"]
        if "config" in body:
            config, config_errors = _monitor_config(body["config"], monitor["config"])
            if config_errors:
                errors["config"] = config_errors
        if errors:
            return 400, {}, errors
        monitor.update({k: v for k, v in body.items() if k in ("name", "status")}, config=config)
        return 200, {}, self._monitor(slug)

    # -- dashboards -------------------------------------------------------------------------------

    def _dashboard_list(self) -> list[dict[str, Any]]:
        return [
            {"id": d["id"], "title": d["title"], "widgetDisplay": [w["displayType"] for w in d["widgets"]]}
            for d in self.dashboards.values()
        ]

    def _get_dashboard(self, match: re.Match[str]) -> Answer:
        dashboard = self.dashboards.get(match[1])
        return (
            (200, {}, dashboard)
            if dashboard
            else (404, {}, {"detail": "The requested resource does not exist"})
        )

    def _save_dashboard(self, dashboard_id: str | None, body: Any) -> Answer:
        if dashboard_id is not None and dashboard_id not in self.dashboards:
            return 404, {}, {"detail": "The requested resource does not exist"}
        if not isinstance(body, dict):
            return 400, {}, {"detail": "expected an object"}
        title = body.get("title")
        if not isinstance(title, str) or not title or len(title) > 255:
            return 400, {}, {"title": ["This field is required."]}
        if any(d["title"] == title and d["id"] != dashboard_id for d in self.dashboards.values()):
            return 409, {}, {"detail": "Dashboard with that title already exists."}
        widgets: list[dict[str, Any]] = []
        problems: list[str] = []
        for index, widget in enumerate(body.get("widgets") or []):
            problem = _widget_problem(widget, creating=dashboard_id is None or "id" not in widget)
            if problem:
                problems.append(f"widget #{index + 1}: {problem}")
            widgets.append({**widget, "id": widget.get("id") or self._next_id()})
        if problems:
            return 400, {}, {"widgets": problems}
        key = dashboard_id or self._next_id()
        dashboard = {"id": key, "title": title, "widgets": widgets}
        self.dashboards[key] = dashboard
        return (200 if dashboard_id else 201), {}, dashboard

    # -- issue alert rules ----------------------------------------------------------------------

    def _list_rules(self, project: str) -> Answer:
        if self._project(project) is None:
            return 404, {}, {"detail": "The requested resource does not exist"}
        return 200, {}, self.rules.get(project, [])

    def _save_rule(self, project: str, rule_id: str | None, body: Any) -> Answer:
        if self._project(project) is None:
            return 404, {}, {"detail": "The requested resource does not exist"}
        if not isinstance(body, dict):
            return 400, {}, {"detail": "expected an object"}
        errors: dict[str, Any] = {}
        if not isinstance(body.get("name"), str) or not body["name"] or len(body["name"]) > 256:
            errors["name"] = ["This field is required."]
        if body.get("actionMatch") not in ACTION_MATCH:
            errors["actionMatch"] = ['"actionMatch" must be all, any or none']
        frequency = body.get("frequency")
        if not isinstance(frequency, int) or not 5 <= frequency <= 43_200:
            errors["frequency"] = ["Ensure this value is between 5 and 43200."]
        if not isinstance(body.get("conditions"), list):
            errors["conditions"] = ["This field is required."]
        if body.get("filterMatch", "all") not in ACTION_MATCH:
            errors["filterMatch"] = ['"filterMatch" must be all, any or none']
        for found in body.get("filters") or ():
            # IssueCategoryFilter's form: value one of GroupCategory's values, include true/false.
            if (
                isinstance(found, dict)
                and found.get("id") == CATEGORY_FILTER
                and (
                    found.get("value") not in GROUP_CATEGORIES
                    or found.get("include", "true") not in ("true", "false")
                )
            ):
                errors["filters"] = [
                    f"Select a valid choice. {found.get('value')!r} is not one of the available choices."
                ]
        actions = body.get("actions")
        if not isinstance(actions, list) or not actions:
            errors["actions"] = ["You must add an action for this alert to fire."]
        else:
            known = {i["uuid"] for i in self.installations}
            for action in actions:
                if (
                    action.get("id") == SENTRY_APP_ACTION
                    and action.get("sentryAppInstallationUuid") not in known
                ):
                    errors["actions"] = ["Select a valid integration (sentryAppInstallationUuid)."]
        if errors:
            return 400, {}, errors
        rules = self.rules.setdefault(project, [])
        if rule_id is not None:
            existing = next((r for r in rules if r["id"] == rule_id), None)
            if existing is None:
                return 404, {}, {"detail": "The requested resource does not exist"}
            existing.update(body)
            return 200, {}, existing
        rule = {**body, "id": self._next_id()}
        rules.append(rule)
        return 200, {}, rule


def _monitor_config(value: Any, current: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The monitor's config as Sentry stores it (schedule_type and schedule normalised)."""
    if not isinstance(value, dict):
        return current, ["This field is required."]
    config = {**current, **value}
    errors = []
    schedule = config.get("schedule")
    schedule_type = config.get("schedule_type")
    if isinstance(schedule, dict):
        schedule_type = schedule.get("type")
        schedule = (
            [schedule.get("value"), schedule.get("unit")]
            if schedule_type == "interval"
            else schedule.get("value")
        )
    if schedule_type == "interval":
        if (
            not isinstance(schedule, list)
            or len(schedule) != 2
            or not isinstance(schedule[0], int)
            or schedule[0] <= 0
            or schedule[1] not in INTERVAL_NAMES
        ):
            errors.append("Invalid schedule for 'interval' type")
    elif schedule_type == "crontab":
        if not isinstance(schedule, str) or len(schedule.split()) != 5:
            errors.append("Only 5 field crontab syntax is supported")
    else:
        errors.append("Missing or invalid schedule type")
    for key, top in (
        ("checkin_margin", MAX_MARGIN),
        ("max_runtime", MAX_TIMEOUT),
        ("failure_issue_threshold", MAX_THRESHOLD),
        ("recovery_threshold", MAX_THRESHOLD),
    ):
        number = config.get(key)
        if number is not None and (not isinstance(number, int) or not 1 <= number <= top):
            errors.append(f"{key}: Ensure this value is between 1 and {top}.")
    if "timezone" in config and not isinstance(config["timezone"], str):
        errors.append("timezone: not a valid choice")
    config["schedule_type"], config["schedule"] = schedule_type, schedule
    return config, errors


def _widget_problem(widget: Any, creating: bool) -> str | None:
    if not isinstance(widget, dict):
        return "expected an object"
    if len(str(widget.get("title", ""))) > 255:
        return "title: Ensure this field has no more than 255 characters."
    if widget.get("displayType") not in DISPLAY_TYPES:
        return f'displayType: "{widget.get("displayType")}" is not a valid choice.'
    if widget.get("widgetType") not in WIDGET_TYPES:
        return f'widgetType: "{widget.get("widgetType")}" is not a valid choice.'
    if "interval" in widget and not re.fullmatch(r"\d+[smhdw]", str(widget["interval"])):
        return "interval: Invalid interval"
    limit = widget.get("limit")
    if limit is not None and (not isinstance(limit, int) or not 1 <= limit <= 10):
        return "limit: Ensure this value is between 1 and 10."
    layout = widget.get("layout")
    if layout is not None:
        missing = [k for k in LAYOUT_KEYS if k not in layout]
        if missing:
            return "layout: Missing required keys: " + ", ".join(missing)
        if not all(isinstance(layout[k], int) for k in LAYOUT_KEYS):
            return "layout: Expected numbers"
    queries = widget.get("queries")
    if not isinstance(queries, list) or not queries:
        return "queries: at least one query is required"
    for query in queries:
        if creating and not {"fields", "conditions"} <= set(query):
            return "queries: fields and conditions are required during creation."
        for key in ("fields", "aggregates", "columns"):
            if key in query and not (
                isinstance(query[key], list) and all(isinstance(f, str) for f in query[key])
            ):
                return f"queries: {key} must be a list of strings"
    return None


def _interval_seconds(schedule: Any, schedule_type: Any) -> int:
    """A monitor's schedule in seconds: `[n, unit]` intervals; a crontab counts as a minute
    (the stand-in does not evaluate crontabs)."""
    units = {"minute": 60, "hour": 3600, "day": 86400, "week": 604800, "month": 2592000, "year": 31536000}
    if schedule_type == "interval" and isinstance(schedule, list) and len(schedule) == 2:
        return int(schedule[0]) * units.get(str(schedule[1]), 60)
    return 60


def _iso(at: float | None) -> str | None:
    if at is None:
        return None
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
