"""The JSON schema an analysis answer must follow, sent with the question so that a server
which constrains decoding (OpenAI's structured outputs, vLLM, llama.cpp's grammars) can only
produce an object of that shape; and the ways of asking for it, from the strictest.

The schema is built from the pydantic model (one source of truth), reduced to what every
such server takes: types, enums, required fields and no others (`additionalProperties:
false`), references inlined, no titles, defaults, lengths or ranges. The model still
validates the answer, lengths and ranges included: nothing unvalidated leaves the analyzer.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

DROPPED = frozenset(
    {"title", "default", "description", "maxLength", "minLength", "maximum", "minimum", "maxItems"}
)
"""Keywords left out: not every constrained decoder takes them (a length becomes a grammar of
thousands of repetitions in llama.cpp), and the model's validation checks them anyway."""

FORMATS = ("json_schema", "json_object_schema", "json_object")
"""How to ask, strictest first: OpenAI's `json_schema` (strict), `json_object` with the schema
beside it (llama-cpp-python's server turns that into a grammar), plain `json_object`."""


def strict_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema in the form structured-output servers accept."""
    document = model.model_json_schema()
    definitions = document.pop("$defs", {})

    def reduce(node: Any) -> Any:
        if isinstance(node, list):
            return [reduce(item) for item in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            return reduce(definitions[node["$ref"].rsplit("/", 1)[-1]])
        out = {key: reduce(value) for key, value in node.items() if key not in DROPPED | {"properties"}}
        if "properties" in node:  # field names are names, not keywords: none is dropped
            out["properties"] = {name: reduce(field) for name, field in node["properties"].items()}
        if out.get("type") == "object" and "properties" in out:
            out["required"] = list(out["properties"])
            out["additionalProperties"] = False
        return out

    reduced: dict[str, Any] = reduce(document)
    return reduced


def response_format(kind: str, schema: dict[str, Any], name: str) -> dict[str, Any]:
    """The `response_format` of a chat-completions request asking for `schema` the `kind` way."""
    if kind == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": name, "strict": True, "schema": schema}}
    if kind == "json_object_schema":
        return {"type": "json_object", "schema": schema}
    if kind == "json_object":
        return {"type": "json_object"}
    raise ValueError(f"unknown response format {kind!r}; known: {', '.join(FORMATS)}")
