"""Every body and REST answer in tests/payloads/real/ (written by Sentry's own teams) goes
through the web endpoint, signed as Sentry signs, with the shipped example rules and the
Sentry stand-in serving the matching REST answers, and lands where the README's rule-file
reference says. The analyses then run against them and the prompt is read: a production
error carries its exception, frames and breadcrumb data; an N+1 issue its repeated query;
an endpoint regression its p95 before and after. Cron and uptime issues reach the restart
job and never code analysis (their shapes are derived from Sentry's source: see
remediator/testing/sentry_shapes.py)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from remediator.errors import JobFailed
from remediator.jobs import JobStatus, JobStore
from remediator.remediation_scripts.analyze_production_error import AnalysisParams, AnalyzeProductionError
from remediator.rules.analysis_gate import AnalysisGate
from remediator.rules.model import RuleSet
from remediator.scripts import ScriptContext
from remediator.sentry.api import SentryApi
from remediator.settings import EXAMPLE_RULES, Settings
from remediator.testing import LlmStandIn, SentryStandIn
from remediator.testing import sentry_events as shapes
from remediator.testing.sentry_shapes import webhook_issue
from tests.helpers import STANDIN_TOKEN, encode, sentry_headers

REAL = Path(__file__).parent / "payloads" / "real"
ANALYSIS = "analyze-production-error"

ANSWER = {
    "root_cause": "The request is refused: the member list needs a permission the user lacks.",
    "suggested_fix": {"language": "javascript", "explanation": "Check the permission first.", "diff": None},
    "impact": "The members page fails for some users.",
    "urgency": "medium",
    "confidence": 60,
    "can_auto_fix": False,
    "files": [],
}


def real(name: str) -> dict[str, Any]:
    return copy.deepcopy(json.loads((REAL / name).read_text()))


@pytest.fixture
def web(make_app, idle_broker_url: str, idle_redis) -> Any:  # type: ignore[no-untyped-def]
    """The web with the shipped rules and Sentry's API, on a broker no worker consumes (the
    jobs stay as planned, for reading)."""
    return make_app(EXAMPLE_RULES.read_text(), broker=idle_broker_url, sentry_auth_token=STANDIN_TOKEN)


@pytest.fixture
def llm() -> Iterator[LlmStandIn]:
    server = LlmStandIn().start()
    yield server
    server.stop()


def deliver(web: Any, resource: str, document: dict[str, Any]) -> dict[str, Any]:
    raw = encode(document)
    answer = web.test_client().post("/sentry/webhook", data=raw, headers=sentry_headers(resource, raw))
    assert answer.status_code in (200, 202), answer.get_data(as_text=True)
    return answer.get_json()  # type: ignore[no-any-return]


def created(issue: dict[str, Any]) -> dict[str, Any]:
    """The `issue.created` webhook Sentry sends for an issue whose details the API answered."""
    return {
        "action": "created",
        "actor": {"id": "sentry", "name": "Sentry", "type": "application"},
        "data": {"issue": webhook_issue(issue)},
        "installation": {"uuid": "00000000-0000-4000-8000-000000000000"},
    }


@pytest.mark.parametrize(
    ("file", "resource", "answer"),
    [
        # An event with no environment: no production rule can hold, nothing is looked up.
        ("docs_error_created", "error", {"status": "ignored", "reason": "no rule matched error.created"}),
        ("ipe_issue_assigned", "issue", {"status": "ignored", "reason": "no rule matched issue.assigned"}),
        ("ipe_issue_ignored", "issue", {"status": "ignored", "reason": "no rule matched issue.ignored"}),
        ("ipe_issue_resolved", "issue", {"status": "ignored", "reason": "no rule matched issue.resolved"}),
        # A metric alert that names no aggregate is not a latency alert.
        (
            "ipe_metric_alert_critical",
            "metric_alert",
            {"status": "ignored", "reason": "no rule matched metric_alert.critical"},
        ),
    ],
)
def test_each_real_webhook_lands_where_the_rule_reference_says(
    web: Any, standin: SentryStandIn, file: str, resource: str, answer: dict[str, Any]
) -> None:
    assert deliver(web, resource, real(f"webhooks/{file}.json")) == answer
    assert not [c for c in standin.api_calls if c["method"] == "GET"]  # no rule needed a lookup


@pytest.mark.parametrize(
    ("issue_file", "event_file", "rule", "script", "tier", "klass"),
    [
        (
            "openapi_issue_details_python",
            "openapi_event_js_forbidden",
            "production-error",
            ANALYSIS,
            "prod",
            "B",
        ),
        (
            "mcp_issue_performance_n1",
            "mcp_event_performance_n1",
            "performance-degradation",
            ANALYSIS,
            "prod",
            "C",
        ),
        (
            "mcp_issue_metric_regression",
            "mcp_event_generic_regression",
            "endpoint-regression",
            ANALYSIS,
            "prod",
            "C",
        ),
    ],
)
def test_each_real_issue_created_gets_its_rule_once_its_event_is_looked_up(
    web: Any,
    idle_redis: Any,
    standin: SentryStandIn,
    issue_file: str,
    event_file: str,
    rule: str,
    script: str,
    tier: str,
    klass: str,
) -> None:
    issue, event = real(f"rest/{issue_file}.json"), real(f"rest/{event_file}.json")
    standin.add_recorded_issue(issue, [event])
    answer = deliver(web, "issue", created(issue))
    assert answer["status"] == "accepted", answer
    (job,) = answer["jobs"]
    assert (job["rule"], job["script"], job["tier"], job["priority_class"]) == (rule, script, tier, klass)
    assert f"/issues/{issue['id']}/events/latest/" in " ".join(c["path"] for c in standin.api_calls)


def prompt_for(web: Any, redis: Any, standin: SentryStandIn, llm: LlmStandIn, pair: tuple[str, str]) -> str:
    """Sentry serves the recorded issue and event and sends the issue's `issue.created`;
    the job it becomes runs its analysis as its worker would: the prompt the model got."""
    issue, event = real(f"rest/{pair[0]}.json"), real(f"rest/{pair[1]}.json")
    standin.add_recorded_issue(issue, [event])
    (job,) = deliver(web, "issue", created(issue))["jobs"]
    return analyse(standin, llm, issue["id"], redis, job["id"])


def analyse(standin: SentryStandIn, llm: LlmStandIn, issue_id: str, redis: Any, job_id: str) -> str:
    """Run the job's analysis as its worker would; the prompt the model got."""
    job = JobStore(redis).get(job_id)
    assert job is not None and job.status is JobStatus.QUEUED
    llm.script(json.dumps(ANSWER))
    ctx = ScriptContext(
        job=job,
        settings=Settings(analyzer="llm", llm_base_url=llm.base_url, llm_model="standin-model"),
        sentry=SentryApi(standin.api_url, STANDIN_TOKEN, standin.org),
        # Recorded years ago: the default gate (an event within 14 days) would skip them.
        rules=RuleSet(analysis=AnalysisGate(seen_within=0)),
    )
    output = AnalyzeProductionError().run(AnalysisParams(sentry_issue_id=issue_id), ctx)
    assert output["commented"] is True
    return str(llm.requests[-1]["messages"][-1]["content"])


def test_a_real_production_error_is_analysed_with_its_exception_frames_and_breadcrumb_data(
    web: Any, idle_redis: Any, standin: SentryStandIn, llm: LlmStandIn
) -> None:
    pair = ("openapi_issue_details_python", "openapi_event_js_forbidden")
    prompt = prompt_for(web, idle_redis, standin, llm, pair)
    assert '"ForbiddenError"' in prompt and "GET /organizations/hellboy-meowmeow/users/ 403" in prompt
    assert '"ignoreOnError"' in prompt and "return fn.apply(this, wrappedArguments);" in prompt  # frames
    assert "/api/0/internal/health/" in prompt and '"status_code": 200' in prompt  # an xhr crumb's data
    assert '"method": "GET"' in prompt
    assert '"url": "https://sentry.io/organizations/hellboy-meowmeow/issues/"' in prompt  # no query
    assert "hell@boy.cat" not in prompt and "192.168.1.1" not in prompt
    assert '"environment": "prod"' in prompt and '"issue_category": "error"' in prompt


def test_a_real_n_plus_one_issue_is_analysed_with_its_repeated_query_and_offending_spans(
    web: Any, idle_redis: Any, standin: SentryStandIn, llm: LlmStandIn
) -> None:
    prompt = prompt_for(
        web, idle_redis, standin, llm, ("mcp_issue_performance_n1", "mcp_event_performance_n1")
    )
    assert '"Offending Spans"' in prompt and '"SELECT * FROM users WHERE id = %s"' in prompt
    assert '"Repeated"' in prompt and '"3 times"' in prompt
    assert prompt.count('"offender": true') == 3 and "SELECT * FROM users WHERE id = 2" in prompt
    assert '"issue_type": "performance_n_plus_one_db_queries"' in prompt


def test_a_real_endpoint_regression_is_analysed_with_its_p95_before_and_after(
    web: Any, idle_redis: Any, standin: SentryStandIn, llm: LlmStandIn
) -> None:
    pair = ("mcp_issue_metric_regression", "mcp_event_generic_regression")
    prompt = prompt_for(web, idle_redis, standin, llm, pair)
    assert "POST /oauth/token duration increased from 909.77ms to 1711.36ms (P95)" in prompt
    assert '"aggregateRange1": 909.7721153846148' in prompt


@pytest.mark.parametrize(
    ("event", "rule", "tier", "service"),
    [
        (shapes.monitor_failure_event("nightly-export", "Nightly"), "monitor-down", "prod", "nightly-export"),
        (
            shapes.uptime_failure_event("https://shop.example/up"),
            "uptime-down",
            "prod",
            "https://shop.example/up",
        ),
        # remediator's own worker: healed from the other tier, never from the one that is down.
        (shapes.monitor_failure_event("batch-worker-prod"), "prod-worker-down", "nonprod", None),
        (shapes.monitor_failure_event("batch-worker-nonprod"), "nonprod-worker-down", "prod", None),
    ],
)
def test_infrastructure_down_reaches_the_restart_job_and_never_code_analysis(
    web: Any,
    idle_redis: Any,
    standin: SentryStandIn,
    llm: LlmStandIn,
    event: dict[str, Any],
    rule: str,
    tier: str,
    service: str | None,
) -> None:
    standin.add_issue("4100", event=event)
    answer = deliver(web, "issue", standin.issue_webhook("4100"))
    (job,) = answer["jobs"]
    assert (job["rule"], job["tier"]) == (rule, tier), answer
    record = JobStore(idle_redis).get(job["id"])
    assert record is not None and record.script in ("restart-service", "http-request")
    if service is not None:
        assert record.params["service"] == service and record.params["check_first"] is True
    # Even asked directly, the analysis refuses an issue with no code, before any model call.
    ctx = ScriptContext(
        job=record,
        settings=Settings(analyzer="llm", llm_base_url=llm.base_url, llm_model="standin-model"),
        sentry=SentryApi(standin.api_url, STANDIN_TOKEN, standin.org),
    )
    with pytest.raises(JobFailed, match="carries no code to analyse, so no model was asked"):
        AnalyzeProductionError().run(AnalysisParams(sentry_issue_id="4100"), ctx)
    assert llm.requests == []
