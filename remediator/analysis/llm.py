"""The `llm` analyzer: any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, a
llama.cpp server, Ollama). The answer's schema goes with the question (structured output,
falling back per endpoint to what it takes: answer_schema). The answer must validate; an
invalid one gets one more try with the reason, then the analysis fails saying why. Nothing
unvalidated leaves here."""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from remediator.analysis.answer_schema import FORMATS, response_format, strict_schema
from remediator.analysis.evidence import Evidence
from remediator.analysis.model import Analysis, capped
from remediator.analysis.prompt import RETRY, messages
from remediator.errors import AnalyzerUnavailable, NoValidAnswer

log = logging.getLogger(__name__)

ATTEMPTS = 2
"""The first answer and one retry."""

ANSWER_SCHEMA = strict_schema(Analysis)
"""The answer's shape, sent with every question (answer_schema)."""

_ACCEPTED: dict[str, str] = {}
"""Per endpoint (base URL and model), the strictest response format it took."""

MAX_ANSWER_TOKENS = 1200
"""Longest answer asked for: an analysis fits easily, and a small model that rambles stops
(SmolLM2 otherwise filled its whole context: 3,400 tokens, two minutes on 2 cores)."""


@dataclass
class Outcome:
    """A validated analysis and what it cost."""

    analysis: Analysis
    analyzer: str
    model: str
    seconds: float
    response_format: str = "json_object"
    """How the answer's shape was asked for (answer_schema.FORMATS)."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    attempts: int = 1
    problems: list[str] = field(default_factory=list)
    """Why earlier answers were refused."""

    def record(self) -> dict[str, Any]:
        """What the job's output keeps."""
        return {
            "analysis": self.analysis.model_dump(),
            "analyzer": self.analyzer,
            "model": self.model,
            "seconds": round(self.seconds, 2),
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "attempts": self.attempts,
            "response_format": self.response_format,
            "refused_answers": self.problems,
        }


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def parse_answer(content: str | None) -> Analysis:
    """The model's text as a validated Analysis (a ```json fence around it is tolerated)."""
    if not content or not content.strip():
        raise ValueError("the answer was empty")
    text = content.strip()
    fenced = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", text, re.DOTALL)
    if fenced:
        text = fenced.group(1)
    if control := _CONTROL.search(text):
        raise ValueError(f"a control character ({control.group()!r}) at character {control.start()}")
    try:
        # A raw tab or line break inside a string (small models write them; strict JSON
        # refuses them) is read as the character it is; every other control character is not.
        document = json.loads(text, strict=False)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg} at character {exc.pos})") from None
    if not isinstance(document, dict):
        raise ValueError("not a JSON object")
    try:
        return Analysis.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(answer)"
        raise ValueError(f"{where}: {first['msg']} ({exc.error_count()} problem(s))") from None


def _refuses_format(exc: Any) -> bool:
    """Whether an endpoint's error answer refuses the request's response format."""
    status = getattr(exc, "status_code", None)
    return status in (400, 422) or (status == 500 and "response_format" in str(exc))


def structured_completion(
    client: Any,
    endpoint: str,
    model: str,
    conversation: list[dict[str, Any]],
    schema: dict[str, Any],
    name: str,
    max_tokens: int,
) -> Any:
    """One chat completion asked for `schema` the strictest way `endpoint` takes: an endpoint
    that refuses a `response_format` (400 or 422, or like llama-cpp-python's server a 500
    whose message names `response_format`) is asked the next way at once, and that is
    remembered for the endpoint for as long as the process lives."""
    from openai import APIStatusError

    start = FORMATS.index(_ACCEPTED.get(endpoint, FORMATS[0]))
    for kind in FORMATS[start:]:
        try:
            reply = client.chat.completions.create(
                model=model,
                messages=conversation,
                temperature=0,
                max_tokens=max_tokens,
                response_format=response_format(kind, schema, name),
            )
        except APIStatusError as exc:
            if kind == FORMATS[-1] or not _refuses_format(exc):
                raise
            log.info("%s refused response_format %s (%s); asking with the next", endpoint, kind, exc)
            continue
        _ACCEPTED[endpoint] = kind
        return reply
    raise AssertionError("unreachable: the last format raises")


class LlmAnalyzer:
    """Asks the configured model."""

    name = "llm"

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None,
        timeout: float = 60.0,
        response_format: str = "auto",
    ) -> None:
        from openai import OpenAI

        self.model = model
        self.endpoint = f"{base_url.rstrip('/')} {model}"
        self.client = OpenAI(
            base_url=base_url, api_key=api_key or "not-needed", timeout=timeout, max_retries=2
        )
        if response_format != "auto":
            _ACCEPTED[self.endpoint] = response_format

    @classmethod
    def from_settings(cls, settings: Any) -> LlmAnalyzer:
        """The analyzer the settings configure (REMEDIATOR_LLM_*)."""
        return cls(
            settings.llm_base_url or "",
            settings.llm_model or "",
            settings.llm_api_key,
            settings.llm_timeout,
            settings.llm_response_format,
        )

    @property
    def response_format(self) -> str:
        """How this endpoint is asked for the answer's shape (the strictest it took so far)."""
        return _ACCEPTED.get(self.endpoint, FORMATS[0])

    def _complete(self, conversation: list[dict[str, Any]]) -> Any:
        """One chat completion asking for the analysis's schema (structured_completion)."""
        return structured_completion(
            self.client, self.endpoint, self.model, conversation, ANSWER_SCHEMA, "analysis", MAX_ANSWER_TOKENS
        )

    def analyze(
        self,
        evidence: Evidence,
        similar: list[dict[str, Any]] | None = None,
        code: dict[str, Any] | None = None,
    ) -> Outcome:
        """A validated analysis, or JobFailed with the reason; `similar`: what fixed similar
        issues before (analysis.memory); `code`: the code behind the trace (code_context)."""
        files = evidence.files() | {f["path"] for f in (code or {}).get("files", [])}
        return self.ask(messages(evidence, similar, code), files)

    def ask(self, conversation: list[dict[str, Any]], known_files: set[str]) -> Outcome:
        """Ask the model with these messages; a validated analysis (its confidence capped
        when its diff names a file outside `known_files`), or JobFailed with the reason."""
        from openai import OpenAIError

        problems: list[str] = []
        prompt_tokens = completion_tokens = 0
        answered_by = ""
        started = time.monotonic()
        for attempt in range(1, ATTEMPTS + 1):
            try:
                reply = self._complete(conversation)
            except OpenAIError as exc:
                raise AnalyzerUnavailable(
                    f"the model endpoint failed: {type(exc).__name__}: {str(exc)[:300]}"
                ) from None
            answered_by = reply.model or answered_by
            if reply.usage is not None:
                prompt_tokens += reply.usage.prompt_tokens
                completion_tokens += reply.usage.completion_tokens
            content = reply.choices[0].message.content if reply.choices else None
            try:
                analysis = parse_answer(content)
            except ValueError as exc:
                problems.append(str(exc))
                conversation = [
                    *conversation,
                    {"role": "assistant", "content": (content or "")[:4000]},
                    {"role": "user", "content": RETRY.format(problem=exc)},
                ]
                continue
            return Outcome(
                analysis=capped(analysis, known_files),
                analyzer=self.name,
                response_format=self.response_format,
                model=reply.model or self.model,
                seconds=time.monotonic() - started,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                attempts=attempt,
                problems=problems,
            )
        raise NoValidAnswer(
            f"the model gave no valid analysis in {ATTEMPTS} attempts: " + "; ".join(problems),
            model=answered_by or self.model,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
        )
