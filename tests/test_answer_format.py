"""Structured output: the analysis's schema goes with the question, asked the strictest way
the endpoint takes, and what an endpoint refused is not asked again (against the
OpenAI-compatible stand-in over real HTTP, playing OpenAI and llama-cpp-python's server)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from remediator.analysis.answer_schema import strict_schema
from remediator.analysis.llm import LlmAnalyzer
from remediator.analysis.model import Analysis
from remediator.testing import LlmStandIn
from remediator.testing.llm_standin import LLAMA_CPP, OPENAI, format_kind
from tests.test_analysis import GOOD

QUESTION = [{"role": "user", "content": "Analyse this."}]


def refused_kinds(endpoint: LlmStandIn) -> list[str]:
    """The formats the endpoint refused, in order, each once (the client retries a 500)."""
    kinds: list[str] = []
    for request in endpoint.refused:
        kind = format_kind(request["response_format"]) or ""
        if not kinds or kinds[-1] != kind:
            kinds.append(kind)
    return kinds


def objects(node: Any) -> Iterator[dict[str, Any]]:
    """Every object schema in a schema."""
    if isinstance(node, dict):
        if node.get("type") == "object":
            yield node
        for value in node.values():
            yield from objects(value)
    elif isinstance(node, list):
        for item in node:
            yield from objects(item)


def test_the_answer_schema_is_the_models_in_the_form_strict_servers_take() -> None:
    schema = strict_schema(Analysis)
    text = json.dumps(schema)
    assert "$ref" not in text and "$defs" not in text and '"default"' not in text
    assert '"maxLength"' not in text and '"title"' not in text
    found = list(objects(schema))
    assert len(found) == 2  # the analysis and its suggested fix
    for node in found:
        assert node["additionalProperties"] is False
        assert set(node["required"]) == set(node["properties"])
    assert set(schema["properties"]) == set(Analysis.model_fields)
    assert schema["properties"]["urgency"]["enum"] == ["low", "medium", "high", "critical"]
    diff = schema["properties"]["suggested_fix"]["properties"]["diff"]
    assert {"type": "null"} in diff["anyOf"]  # optional in the model, nullable in strict form
    # A suspect commit is a SHA or nothing: the pattern goes with the schema, so a decoder
    # that follows it cannot write a sentence there (SmolLM2 did, past 64 characters).
    suspect = schema["properties"]["suspect_commit"]["anyOf"]
    assert {"type": "string", "pattern": "^[0-9a-fA-F]{7,40}$"} in suspect and {"type": "null"} in suspect
    with pytest.raises(ValueError, match="suspect_commit"):
        Analysis.model_validate({**GOOD, "suspect_commit": "the commit that added the sessions"})
    assert Analysis.model_validate({**GOOD, "suspect_commit": "98bd1534"}).suspect_commit == "98bd1534"


@pytest.fixture
def endpoint(request: pytest.FixtureRequest) -> Iterator[LlmStandIn]:
    server = LlmStandIn(accepts=request.param).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("endpoint", [OPENAI], indirect=True)
def test_an_endpoint_that_takes_json_schema_is_asked_strictly_with_the_schema(endpoint: LlmStandIn) -> None:
    endpoint.script(json.dumps(GOOD))
    outcome = LlmAnalyzer(endpoint.base_url, "openai-like", None).ask(QUESTION, {"app/cart.py"})
    (request,) = endpoint.requests
    assert endpoint.refused == []
    sent = request["response_format"]
    assert sent["type"] == "json_schema" and sent["json_schema"]["strict"] is True
    assert sent["json_schema"]["name"] == "analysis" and sent["json_schema"]["schema"] == strict_schema(
        Analysis
    )
    assert outcome.response_format == "json_schema" and outcome.record()["response_format"] == "json_schema"


@pytest.mark.parametrize("endpoint", [LLAMA_CPP], indirect=True)
def test_an_endpoint_that_refuses_json_schema_gets_the_schema_beside_json_object_and_keeps_it(
    endpoint: LlmStandIn,
) -> None:
    endpoint.script(json.dumps(GOOD), json.dumps(GOOD))
    first = LlmAnalyzer(endpoint.base_url, "llama-like", None).ask(QUESTION, {"app/cart.py"})
    assert refused_kinds(endpoint) == ["json_schema"]
    assert first.response_format == "json_object_schema"
    assert endpoint.requests[0]["response_format"]["schema"] == strict_schema(Analysis)
    # A new analyzer for the same endpoint (the next job) asks the way that worked at once.
    refused = len(endpoint.refused)
    second = LlmAnalyzer(endpoint.base_url, "llama-like", None).ask(QUESTION, {"app/cart.py"})
    assert second.response_format == "json_object_schema"
    assert len(endpoint.requests) == 2 and len(endpoint.refused) == refused


@pytest.mark.parametrize("endpoint", [("json_object",)], indirect=True)
def test_an_endpoint_that_takes_no_schema_at_all_is_asked_for_json_and_still_validated(
    endpoint: LlmStandIn,
) -> None:
    endpoint.script("not json", json.dumps(GOOD))
    outcome = LlmAnalyzer(endpoint.base_url, "plain", None).ask(QUESTION, {"app/cart.py"})
    assert refused_kinds(endpoint) == ["json_schema", "json_object_schema"]
    assert outcome.response_format == "json_object" and outcome.attempts == 2
    assert outcome.problems and outcome.problems[0].startswith("not JSON")


@pytest.mark.parametrize("endpoint", [OPENAI], indirect=True)
def test_a_named_response_format_starts_there_so_json_object_sends_no_schema(endpoint: LlmStandIn) -> None:
    endpoint.script(json.dumps(GOOD))
    analyzer = LlmAnalyzer(endpoint.base_url, "forced-plain", None, response_format="json_object")
    outcome = analyzer.ask(QUESTION, {"app/cart.py"})
    (request,) = endpoint.requests
    assert request["response_format"] == {"type": "json_object"} and endpoint.refused == []
    assert outcome.response_format == "json_object"
