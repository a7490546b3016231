"""Property-based fuzzing of POST /sentry/webhook: whatever arrives, the answer is a 4xx or
a 200, never a 5xx and never a job, and the endpoint keeps answering."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import PAYLOADS, encode, payload, sentry_headers

RULES = """
rules:
  - name: unreachable
    match: {culprit: {equals: "4b1e6f0c-never-sent-by-the-fuzzer"}}
    job: {script: http-request, tier: nonprod, class: D, params: {url: "http://127.0.0.1:9/"}}
"""

RESOURCES = st.sampled_from(
    [
        "issue",
        "event_alert",
        "error",
        "metric_alert",
        "comment",
        "installation",
        "",
        "ISSUE",
        "issue\x00",
        "../etc",
    ]
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)


def mutate(document: Any, path: list[Any], value: Any) -> Any:
    """Replace what a path reaches inside a real payload with a random value."""
    node = document
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return document


@pytest.fixture(scope="module")
def fuzz_client(tmp_path_factory, idle_broker_url):  # type: ignore[no-untyped-def]
    from remediator.settings import Settings
    from remediator.web.app import create_app

    rules = tmp_path_factory.mktemp("fuzz") / "rules.yaml"
    rules.write_text(RULES)
    settings = Settings(
        broker_url=idle_broker_url,
        rules_file=rules,
        sentry_dsn=None,  # type: ignore[call-arg]
        sentry_auth_token=None,
    )
    return create_app(settings).test_client()


def check(response: Any) -> None:
    assert response.status_code in (200, 400, 401, 413), (response.status_code, response.data[:300])
    assert response.is_json


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))


@FUZZ
@given(body=st.binary(max_size=2000), resource=RESOURCES, signed=st.booleans())
def test_random_bytes_never_get_a_5xx(fuzz_client, idle_redis, body, resource, signed) -> None:
    headers = sentry_headers(resource, body)
    if not signed:
        headers["Sentry-Hook-Signature"] = "0" * 64
    check(fuzz_client.post("/sentry/webhook", data=body, headers=headers))


@FUZZ
@given(document=json_values, resource=RESOURCES)
def test_random_json_never_gets_a_5xx_or_a_job(fuzz_client, idle_redis, document, resource):
    body = json.dumps(document).encode()
    check(fuzz_client.post("/sentry/webhook", data=body, headers=sentry_headers(resource, body)))
    assert idle_redis.zcard("remediator:jobs") == 0


SHAPES = [
    ("issue", "issue_created", ["data", "issue", "id"]),
    ("issue", "issue_created", ["data", "issue", "project"]),
    ("issue", "issue_created", ["data", "issue", "metadata"]),
    ("issue", "issue_created", ["action"]),
    ("event_alert", "event_alert_triggered", ["data", "event", "tags"]),
    ("event_alert", "event_alert_triggered", ["data", "event", "exception"]),
    ("metric_alert", "metric_alert_resolved", ["data", "metric_alert", "alert_rule"]),
    ("issue", "issue_created", ["actor"]),
]


@FUZZ
@given(shape=st.sampled_from(SHAPES), value=json_values)
def test_real_payloads_with_a_field_of_the_wrong_type_never_get_a_5xx(
    fuzz_client, idle_redis, shape, value
) -> None:
    resource, name, path = shape
    body = encode(mutate(payload(name), path, value))
    check(fuzz_client.post("/sentry/webhook", data=body, headers=sentry_headers(resource, body)))
    assert idle_redis.zcard("remediator:jobs") == 0


@FUZZ
@given(
    headers=st.dictionaries(
        st.sampled_from(
            [
                "Sentry-Hook-Resource",
                "Sentry-Hook-Timestamp",
                "Sentry-Hook-Signature",
                "Content-Type",
                "Request-ID",
            ]
        ),
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=80),
        max_size=5,
    )
)
def test_missing_or_odd_headers_get_a_4xx(fuzz_client, idle_redis, headers) -> None:
    body = (PAYLOADS / "issue_created.json").read_bytes()
    response = fuzz_client.post("/sentry/webhook", data=body, headers=headers)
    check(response)
    assert response.status_code != 200 or "ignored" in response.get_json()["status"]


def test_deep_nesting_and_huge_bodies_get_4xx_and_the_server_keeps_answering(fuzz_client, idle_redis) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    check(fuzz_client.post("/sentry/webhook", data=deep, headers=sentry_headers("issue", deep)))
    nested = b'{"action":"created","data":' + b'{"a":' * 5000 + b"1" + b"}" * 5000 + b"}"
    check(fuzz_client.post("/sentry/webhook", data=nested, headers=sentry_headers("issue", nested)))
    huge = b"x" * (2 * 1024 * 1024)
    response = fuzz_client.post("/sentry/webhook", data=huge, headers=sentry_headers("issue", huge))
    assert response.status_code == 413
    ok = encode(payload("issue_created"))
    after = fuzz_client.post("/sentry/webhook", data=ok, headers=sentry_headers("issue", ok))
    assert after.status_code == 200 and after.get_json()["reason"] == "no rule matched issue.created"
