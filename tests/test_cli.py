"""The `remediator` command: rules check/test, jobs list/show, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from remediator.cli import main
from remediator.jobs import JobStatus, JobStore, redis_client
from remediator.testing import SentryStandIn
from remediator.testing import sentry_events as shapes
from remediator.testing.factories import make_job
from tests.helpers import PAYLOADS, payload


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_rules_check_lists_the_shipped_rules(runner: CliRunner) -> None:
    result = runner.invoke(main, ["rules", "check"])
    assert result.exit_code == 0, result.output
    assert "13 rules OK" in result.output
    assert "new-in-latest-deploy: http-request on prod, class A, namespace rollback" in result.output
    assert "database-pool: restart-db-pool on prod, class A, namespace self-healing" in result.output
    assert "monitor-down: restart-service on prod, class A, namespace self-healing" in result.output
    # The suite's environment names Sentry's API: the lookups can be made, no warning says otherwise.
    assert "warning:" not in result.output


def test_rules_check_warns_about_tests_no_webhook_can_pass(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "rules:\n"
        "  - name: slow\n"
        "    match: {culprit: {contains: db}, issue_category: performance}\n"
        "    job: {script: noop, tier: nonprod, class: C}\n"
        "  - name: cpu\n"
        "    match: {resource: metric_alert, substatus: new}\n"
        "    job: {script: noop, tier: nonprod, class: C}\n"
    )
    result = runner.invoke(main, ["rules", "check", str(path)])
    assert result.exit_code == 0, result.output
    assert (
        "warning: rule 'slow': metric_alert webhooks never carry culprit, issue_category, so it only "
        "matches issue, event_alert, error (say match.resource: [issue, event_alert, error])"
    ) in result.output
    assert "warning: rule 'cpu' can never match: metric_alert webhooks never carry substatus" in result.output


def test_rules_check_warns_when_a_lookup_is_needed_and_cannot_be_made(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REMEDIATOR_SENTRY_AUTH_TOKEN")
    from remediator.settings import get_settings

    get_settings.cache_clear()
    try:
        result = runner.invoke(main, ["rules", "check"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert (
        "warning: rule 'production-error' tests environment of issue webhooks, which only a lookup in "
        "Sentry fills: without REMEDIATOR_SENTRY_AUTH_TOKEN and REMEDIATOR_SENTRY_ORG those tests fail"
    ) in result.output


def test_rules_check_reports_the_rule_and_field_and_fails(runner: CliRunner, tmp_path: Path):
    bad = tmp_path / "rules.yaml"
    bad.write_text("rules:\n  - name: x\n    match: {}\n    job: {script: nope, tier: prod, class: A}\n")
    result = runner.invoke(main, ["rules", "check", str(bad)])
    assert result.exit_code == 1
    assert "rule 'x': job.script: unknown script 'nope'" in result.output


def database_issue(directory: Path) -> Path:
    """A payload file: an issue whose culprit is in the database layer."""
    document = payload("issue_created")
    document["data"]["issue"]["culprit"] = "app/database/pool.py in acquire"
    path = directory / "p.json"
    path.write_text(json.dumps(document))
    return path


def test_rules_test_prints_the_job_and_what_the_gate_would_decide(
    runner: CliRunner, tmp_path: Path, redis_db
) -> None:
    path = database_issue(tmp_path)
    result = runner.invoke(main, ["rules", "test", str(path)])
    assert result.exit_code == 0, result.output
    # prod class A waits for approval by default, and nothing stands in the way
    assert (
        "rule 'database-pool' matches: it would wait for a person's approval, then be queued; "
        "no limit stands in the way right now; the job:"
    ) in result.output
    job = json.loads(result.output.split("the job:\n", 1)[1])
    assert job["script"] == "restart-db-pool" and job["queue"] == "remediator.prod"
    assert job["broker_priority"] == 0 and job["sentry_issue_id"] == "1170820242"


def test_rules_test_says_when_the_gate_would_hold_the_job(
    runner: CliRunner, tmp_path: Path, redis_db
) -> None:
    path = database_issue(tmp_path)
    assert runner.invoke(main, ["pause", "--by", "ops", "--reason", "deploy"]).exit_code == 0
    result = runner.invoke(main, ["rules", "test", str(path)])
    assert (
        "the gate would record it held right now: remediation is paused: paused by ops: deploy"
        in result.output
    )
    # and looking wrote nothing: no job, no dedup mark
    assert redis_db.zcard("remediator:jobs") == 0 and not list(redis_db.scan_iter("remediator:dedup:*"))


def test_rules_test_with_no_match_says_so_and_exits_1(runner: CliRunner) -> None:
    result = runner.invoke(
        main, ["rules", "test", str(PAYLOADS / "issue_created.json"), "--resource", "issue"]
    )
    assert result.exit_code == 1
    assert "no rule matches this issue.created" in result.output


def test_rules_test_rejects_a_payload_that_is_not_a_webhook(runner: CliRunner, tmp_path: Path):
    path = tmp_path / "p.json"
    path.write_text("{oops")
    result = runner.invoke(main, ["rules", "test", str(path), "--resource", "issue"])
    assert result.exit_code == 1 and "not valid JSON" in result.output


def test_jobs_list_and_show_read_the_store(runner: CliRunner, broker_url, redis_db) -> None:
    store = JobStore(redis_client(broker_url))
    job = store.create(make_job(script="run-command"))
    listed = runner.invoke(main, ["jobs", "list"])
    assert listed.exit_code == 0, listed.output
    assert job.id in listed.output and "queued" in listed.output
    shown = runner.invoke(main, ["jobs", "show", job.id])
    assert json.loads(shown.output)["script"] == "run-command"
    missing = runner.invoke(main, ["jobs", "show", "nope"])
    assert missing.exit_code == 1 and "no job nope" in missing.output


def test_invalid_setting_fails_naming_the_variable(runner: CliRunner, monkeypatch) -> None:
    monkeypatch.setenv("REMEDIATOR_WORKER_CONCURRENCY", "zero")
    result = runner.invoke(main, ["rules", "check"])
    assert result.exit_code == 1
    assert "REMEDIATOR_WORKER_CONCURRENCY" in result.output


def test_worker_for_an_unknown_tier_is_refused(runner: CliRunner) -> None:
    result = runner.invoke(main, ["worker", "staging"])
    assert result.exit_code == 1
    assert "unknown tier 'staging'; known: prod, nonprod" in result.output


def test_jobs_show_and_list_print_secret_params_filtered(runner: CliRunner, broker_url, redis_db) -> None:
    store = JobStore(redis_client(broker_url))
    secret = "Bearer do-not-print-me"
    job = store.create(
        make_job(
            script="http-request",
            status=JobStatus.AWAITING_APPROVAL,
            params={"url": "http://x/", "headers": {"Authorization": secret}},
        )
    )
    shown = runner.invoke(main, ["jobs", "show", job.id])
    listed = runner.invoke(main, ["jobs", "list", "--json"])
    table = runner.invoke(main, ["jobs", "list"])
    for result in (shown, listed, table):
        assert result.exit_code == 0, result.output
        assert secret not in result.output
    assert json.loads(shown.output)["params"] == {"url": "http://x/", "headers": "[Filtered]"}
    # the status column fits the longest status
    [row] = [line for line in table.output.splitlines() if job.id in line]
    assert "awaiting_approval nonprod " in row


def test_enabling_a_rule_that_does_not_exist_fails_and_writes_nothing(runner: CliRunner, redis_db) -> None:
    result = runner.invoke(main, ["rules", "enable", "no-such-rule", "--by", "ops"])
    assert result.exit_code == 1
    assert "no rule 'no-such-rule'; known: build-failed, prod-worker-down, " in result.output
    assert not list(redis_db.scan_iter("remediator:breaker:*"))


def test_version_is_printed(runner: CliRunner) -> None:
    from remediator import __version__

    result = runner.invoke(main, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"remediator, version {__version__}"


@pytest.mark.parametrize("command", [["up"], ["web"], ["worker", "prod"], ["beat"]])
def test_a_visibility_timeout_shorter_than_a_job_is_refused_at_start(
    runner: CliRunner, command: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from remediator.settings import get_settings

    monkeypatch.setenv("REMEDIATOR_VISIBILITY_TIMEOUT", "600")
    get_settings.cache_clear()
    try:
        result = runner.invoke(main, command)
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert "REMEDIATOR_VISIBILITY_TIMEOUT=600 is too short: it must exceed the longest script time limit" in (
        result.output
    )


def test_rules_test_looks_up_what_the_body_lacks_as_the_web_does(
    runner: CliRunner, standin: SentryStandIn, tmp_path: Path
) -> None:
    event = shapes.error_event("TimeoutError", "upstream took 30s", [], environment="production")
    standin.add_issue("6101", event=event)
    body = tmp_path / "issue.json"
    body.write_text(json.dumps(standin.issue_webhook("6101")))
    result = runner.invoke(main, ["rules", "test", str(body)])
    assert result.exit_code == 0, result.output
    assert "looked up in Sentry: environment, release, the release's deploy" in result.output
    assert "rule 'production-error' matches" in result.output


def test_rules_test_without_sentry_names_the_lookup_and_takes_the_field_given(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REMEDIATOR_SENTRY_AUTH_TOKEN")
    from remediator.settings import get_settings

    get_settings.cache_clear()
    body = tmp_path / "issue.json"
    body.write_text(json.dumps(payload("issue_created")))
    try:
        missing = runner.invoke(main, ["rules", "test", str(body)])
        given = runner.invoke(main, ["rules", "test", str(body), "--set", "environment=production"])
    finally:
        get_settings.cache_clear()
    assert missing.exit_code == 1 and "a rule needs environment" in missing.output
    assert "no rule matches this issue.created" in missing.output
    assert given.exit_code == 0, given.output
    assert "rule 'production-error' matches" in given.output


def test_jobs_list_refuses_a_status_that_does_not_exist(runner: CliRunner) -> None:
    result = runner.invoke(main, ["jobs", "list", "--status", "bogus"])
    assert result.exit_code == 2 and "'bogus' is not one of 'queued'" in result.output


def test_notify_channels_says_the_routes_in_words(runner: CliRunner) -> None:
    result = runner.invoke(main, ["notify", "channels"])
    assert result.exit_code == 0, result.output
    assert (
        "route #2: events failed, ineffective, needs_attention; tier prod; class A -> oncall" in result.output
    )
    assert (
        "PriorityClass" not in result.output and "(" not in result.output.split("route #2:")[1].split("->")[0]
    )


def test_one_rule_is_one_rule(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "rules:\n  - name: x\n    match: {title: y}\n    job: {script: noop, tier: nonprod, class: D}\n"
    )
    assert f"{path}: 1 rule OK" in runner.invoke(main, ["rules", "check", str(path)]).output


def test_rules_test_with_nothing_running_skips_the_limits_and_says_so(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("REMEDIATOR_BROKER_URL", "REMEDIATOR_SENTRY_AUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REMEDIATOR_DATA_DIR", str(tmp_path / "var"))  # no `up` ran here
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))  # nor anywhere else
    from remediator.settings import get_settings

    get_settings.cache_clear()
    body = tmp_path / "issue.json"
    body.write_text(json.dumps(payload("issue_created")))
    try:
        result = runner.invoke(main, ["rules", "test", str(body), "--set", "environment=production"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert (
        "rule 'production-error' matches: it would be queued on remediator.prod at class B" in result.output
    )
    assert "(limits not checked: REMEDIATOR_BROKER_URL is not set" in result.output


def test_web_without_an_api_token_says_so_before_starting_gunicorn(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    from remediator.cli import processes
    from remediator.settings import get_settings

    def started(argv: list[str]) -> None:
        raise AssertionError(f"gunicorn was started: {argv}")

    monkeypatch.setattr(processes, "exec_process", started)  # never replace the test process
    monkeypatch.delenv("REMEDIATOR_API_TOKEN")
    get_settings.cache_clear()
    result = runner.invoke(main, ["web"])
    get_settings.cache_clear()
    assert result.exit_code == 1, result.output
    assert "REMEDIATOR_API_TOKEN must be set" in result.output
