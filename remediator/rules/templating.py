"""Rendering a rule's params from a payload in Jinja2's sandbox: payload text is data, never code."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError, meta
from jinja2.sandbox import ImmutableSandboxedEnvironment

_ENV = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


@lru_cache(maxsize=4096)
def compile_template(source: str) -> Template:
    """Compile a template from the rule file (raises jinja2.TemplateSyntaxError)."""
    return _ENV.from_string(source)


def check_templates(value: Any) -> None:
    """Compile every string inside value, so syntax errors surface when rules load."""
    for source in _strings(value):
        compile_template(source)


def names_used(value: Any) -> frozenset[str]:
    """The top-level names the templates inside value read (`project`, `tags`, `data`...)."""
    found: set[str] = set()
    for source in _strings(value):
        if "{" in source:
            found |= meta.find_undeclared_variables(_ENV.parse(source))
    return frozenset(found)


def render(value: Any, context: dict[str, Any]) -> Any:
    """Render every string inside value; other values pass through unchanged.

    The rendered text is never parsed as a template again, so `{{ ... }}` inside a
    payload stays literal text.
    """
    if isinstance(value, str):
        if "{" not in value:
            return value
        return compile_template(value).render(context)
    if isinstance(value, list):
        return [render(item, context) for item in value]
    if isinstance(value, dict):
        return {key: render(item, context) for key, item in value.items()}
    return value


SAMPLE = "1"
"""What stands in for each `{{ expression }}` when a rule's params are checked at load time:
it reads as a string, a number and part of a URL alike."""

_EXPRESSION = re.compile(r"{{.*?}}|{%.*?%}|{#.*?#}", re.DOTALL)


def sample_params(value: Any) -> Any:
    """Value with every template expression replaced by SAMPLE (blocks and comments
    dropped), so templated params can be checked against a script's model before any
    webhook arrives."""
    if isinstance(value, str):
        return _EXPRESSION.sub(lambda m: SAMPLE if m.group().startswith("{{") else "", value)
    if isinstance(value, list):
        return [sample_params(item) for item in value]
    if isinstance(value, dict):
        return {key: sample_params(item) for key, item in value.items()}
    return value


def only_expression(value: Any) -> bool:
    """Whether value is a single `{{ expression }}` and nothing else (its type is only
    known once rendered)."""
    return isinstance(value, str) and _EXPRESSION.fullmatch(value.strip()) is not None


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    return []


__all__ = [
    "TemplateError",
    "check_templates",
    "compile_template",
    "only_expression",
    "render",
    "sample_params",
]
