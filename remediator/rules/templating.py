"""Rendering a rule's params from a payload in Jinja2's sandbox: payload text is data, never code."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError
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


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    return []


__all__ = ["TemplateError", "check_templates", "compile_template", "render"]
