"""`remediator sentry setup` against the Sentry stand-in, as a user runs it: monitors, the
dashboard and alert rules created once; a second run changes nothing; --dry-run writes
nothing; a drifted monitor is put back."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from remediator.testing import SentryStandIn
from tests.helpers import APP_ID, STANDIN_TOKEN


def setup(standin: SentryStandIn, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "SENTRY_DSN": standin.dsn,
        "REMEDIATOR_SENTRY_API_URL": standin.api_url,
        "REMEDIATOR_SENTRY_AUTH_TOKEN": STANDIN_TOKEN,
        "REMEDIATOR_SENTRY_ORG": standin.org,
        "REMEDIATOR_SENTRY_APP_ID": APP_ID,
        "REMEDIATOR_TIMEZONE": "Europe/Berlin",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "remediator", "sentry", "setup", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def sentry(standin: SentryStandIn) -> SentryStandIn:
    standin.config.install_app(APP_ID)
    return standin


def test_setup_creates_monitors_dashboard_and_alert_rules_once(sentry: SentryStandIn) -> None:
    first = setup(sentry, "--alert-rules", "demo")
    assert first.returncode == 0, first.stderr
    assert "cron monitor batch-worker-prod: created" in first.stdout
    assert "cron monitor batch-worker-nonprod: created" in first.stdout
    assert "dashboard 'Batch System Health': created (4 widgets)" in first.stdout
    assert (
        "alert rule in demo: created (new and regressed error, performance, cron, uptime issues → "
        "this integration)"
    ) in first.stdout
    monitor = sentry.config.monitors["batch-worker-prod"]
    assert monitor["project"]["id"] == str(sentry.project_id)
    assert monitor["config"] == {
        "schedule_type": "interval",
        "schedule": [1, "minute"],
        "checkin_margin": 2,
        "max_runtime": 5,
        "failure_issue_threshold": 3,
        "recovery_threshold": 1,
        "timezone": "Europe/Berlin",
    }
    (board,) = sentry.config.dashboards.values()
    titles = [w["title"] for w in board["widgets"]]
    assert titles == [
        "Jobs by status",
        "Failed jobs",
        "Job duration p95 by script",
        "Worker check-ins (cron monitor issues)",
    ]
    assert board["widgets"][0]["queries"][0]["conditions"] == "transaction.op:batch.job"
    (rule,) = sentry.config.rules["demo"]
    assert rule["actions"][0]["sentryAppInstallationUuid"] == sentry.config.installations[0]["uuid"]
    assert rule["filterMatch"] == "any"
    assert [(f["id"].rsplit(".", 1)[-1], f["value"]) for f in rule["filters"]] == [
        ("IssueCategoryFilter", "1"),
        ("IssueCategoryFilter", "2"),
        ("IssueCategoryFilter", "4"),
        ("IssueCategoryFilter", "7"),
    ]
    writes = len(sentry.config.writes)
    assert writes == 4

    second = setup(sentry, "--alert-rules", "demo")
    assert second.returncode == 0, second.stderr
    assert second.stdout.count(": unchanged") == 4 and "0 of 4 changed" in second.stdout
    assert len(sentry.config.writes) == writes


def test_dry_run_says_what_it_would_do_and_writes_nothing(sentry: SentryStandIn) -> None:
    answer = setup(sentry, "--dry-run")
    assert answer.returncode == 0, answer.stderr
    assert "cron monitor batch-worker-prod: would create" in answer.stdout
    assert "dashboard 'Batch System Health': would create" in answer.stdout
    assert "3 of 3 would change" in answer.stdout
    assert sentry.config.writes == [] and sentry.config.monitors == {}


CHECK_IN_AS_THE_HEARTBEAT = """
import sys
import sentry_sdk
from sentry_sdk.crons import capture_checkin
from remediator.tasks.heartbeat import upsert_config
sentry_sdk.init(dsn=sys.argv[1])
capture_checkin(monitor_slug="batch-worker-prod", status="ok", monitor_config=upsert_config("Europe/Berlin"))
sentry_sdk.flush()
"""


def test_a_monitor_the_heartbeat_created_is_unchanged_on_a_dry_run(sentry: SentryStandIn) -> None:
    sent = subprocess.run(
        [sys.executable, "-c", CHECK_IN_AS_THE_HEARTBEAT, sentry.dsn],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert sent.returncode == 0, sent.stderr
    assert (
        sentry.config.monitors["batch-worker-prod"]["name"] == "batch-worker-prod"
    )  # upserted by the check-in
    answer = setup(sentry, "--dry-run")
    assert answer.returncode == 0, answer.stderr
    assert "cron monitor batch-worker-prod: unchanged" in answer.stdout
    assert "cron monitor batch-worker-nonprod: would create" in answer.stdout
    assert sentry.config.writes == []


def test_a_drifted_monitor_is_put_back(sentry: SentryStandIn) -> None:
    assert setup(sentry).returncode == 0
    sentry.config.monitors["batch-worker-nonprod"]["config"]["checkin_margin"] = 10
    answer = setup(sentry)
    assert "cron monitor batch-worker-nonprod: updated (checkin_margin 10 → 2)" in answer.stdout
    assert sentry.config.monitors["batch-worker-nonprod"]["config"]["checkin_margin"] == 2


def test_setup_says_what_is_missing(sentry: SentryStandIn) -> None:
    no_token = setup(sentry, REMEDIATOR_SENTRY_AUTH_TOKEN="")
    assert no_token.returncode == 1 and "REMEDIATOR_SENTRY_AUTH_TOKEN" in no_token.stderr
    sentry.config.installations.clear()
    not_installed = setup(sentry, "--alert-rules", "demo")
    assert not_installed.returncode == 1
    assert f"integration {APP_ID} is not installed in organization acme" in not_installed.stderr


def test_the_standin_refuses_what_sentry_refuses(sentry: SentryStandIn) -> None:
    # The stand-in checks the fields as Sentry's serializers do, so the test above means something.
    def handle(method: str, path: str, body: object) -> int:
        answer = sentry.config.handle(method, path, body)
        assert answer is not None, path
        return answer[0]

    bad_monitor = {
        "project": "1",
        "name": "x",
        "config": {"schedule_type": "interval", "schedule": [0, "minute"]},
    }
    assert handle("POST", "/api/0/organizations/acme/monitors/", bad_monitor) == 400
    bad_widget = {"title": "t", "widgets": [{"displayType": "pie", "widgetType": "issue", "queries": []}]}
    assert handle("POST", "/api/0/organizations/acme/dashboards/", bad_widget) == 400
    no_action = {"name": "r", "actionMatch": "any", "frequency": 5, "conditions": [], "actions": []}
    assert handle("POST", "/api/0/projects/acme/demo/rules/", no_action) == 400


def test_setup_says_what_would_stop_it_before_planning_anything(sentry: SentryStandIn) -> None:
    no_project = setup(sentry, "--dry-run", SENTRY_DSN="")
    assert no_project.returncode == 1 and "set SENTRY_DSN or pass --project" in no_project.stderr
    assert no_project.stdout == ""  # no plan printed before the failure
    no_app = setup(sentry, "--alert-rules", "demo", REMEDIATOR_SENTRY_APP_ID="")
    assert no_app.returncode == 1 and "set REMEDIATOR_SENTRY_APP_ID" in no_app.stderr and no_app.stdout == ""
    assert sentry.config.writes == []


def test_setup_against_a_sentry_that_does_not_answer_says_so_at_once(sentry: SentryStandIn) -> None:
    from remediator.local.embedded_redis import free_port

    url = f"http://127.0.0.1:{free_port()}/api/0"  # nothing listens there
    done = setup(sentry, REMEDIATOR_SENTRY_API_URL=url)
    assert done.returncode == 1 and f"Sentry at {url} does not answer" in done.stderr
    assert "check REMEDIATOR_SENTRY_API_URL" in done.stderr and "Traceback" not in done.stderr
    wrong_org = setup(sentry, REMEDIATOR_SENTRY_ORG="nope")
    assert wrong_org.returncode == 1 and "Sentry has no organization 'nope'" in wrong_org.stderr
    bad_token = setup(sentry, REMEDIATOR_SENTRY_AUTH_TOKEN="wrong")
    assert bad_token.returncode == 1 and "Sentry refuses the token (401)" in bad_token.stderr
