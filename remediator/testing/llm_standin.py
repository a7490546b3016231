"""An OpenAI-compatible chat-completions server over real HTTP, with scripted answers: what
the `llm` analyzer talks to in tests (and what `remediator analyze eval` can be pointed at).

    llm = LlmStandIn(api_key="k").start()
    llm.base_url                 # REMEDIATOR_LLM_BASE_URL (ends in /v1)
    llm.script(good_json, "not json")   # the next answers, in order
    llm.requests                 # every request body received

`accepts` is the `response_format`s it takes, as answer_schema names them: OpenAI's API takes
`json_schema` and `json_object` and refuses a `schema` beside `json_object` (400, "Unknown
parameter"); llama-cpp-python's server (0.3.36) takes `json_object` with or without a
`schema` and refuses `json_schema` with a 500 whose message is its request model's validation
error (as recorded from it). Pass `OPENAI` or `LLAMA_CPP`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from remediator.testing.loopback import Answer, LoopbackServer

ROLES = {"system", "user", "assistant", "developer", "tool"}

OPENAI = ("json_schema", "json_object")
"""The response formats OpenAI's chat completions take."""
LLAMA_CPP = ("json_object_schema", "json_object")
"""The response formats llama-cpp-python's server (0.3) takes."""


def format_kind(response_format: Any) -> str | None:
    """Which way a request asks for its answer's shape (None: it does not ask)."""
    if not isinstance(response_format, dict):
        return None
    kind = response_format.get("type")
    if kind == "json_object" and "schema" in response_format:
        return "json_object_schema"
    return str(kind)


def _refusal(kind: str, accepts: tuple[str, ...]) -> Answer | None:
    """The error the server being played answers a response format it does not take with."""
    if kind in accepts or kind == "text":
        return None
    if "json_schema" in accepts:  # OpenAI
        if kind == "json_object_schema":
            return _error(400, "Unknown parameter: 'response_format.schema'.")
        return _error(
            400, f"Invalid value: '{kind}'. Supported values are: 'json_object', 'json_schema' and 'text'."
        )
    validation = (
        "1 validation error:\n  {'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), "
        f"'msg': \"Input should be 'text' or 'json_object'\", 'input': '{kind}', "
        "'ctx': {'expected': \"'text' or 'json_object'\"}}\n"
    )
    return _error(500, validation, "internal_server_error")


def _error(status: int, message: str, kind: str = "invalid_request_error") -> Answer:
    return status, {"error": {"message": message, "type": kind, "param": None, "code": None}}, {}


class LlmStandIn(LoopbackServer):
    """Answers chat completions with scripted texts (then the default answer)."""

    def __init__(
        self,
        model: str = "standin-model",
        api_key: str | None = None,
        default: Callable[[dict[str, Any]], str] | None = None,
        accepts: tuple[str, ...] = OPENAI,
    ) -> None:
        self.model, self.api_key = model, api_key
        self.accepts = accepts
        self.default = default or (lambda request: '{"error": "no answer scripted"}')
        self.requests: list[dict[str, Any]] = []
        self.refused: list[dict[str, Any]] = []
        """Requests refused for their response format (not in `requests`)."""
        self._answers: list[str] = []
        self._lock = threading.Lock()
        super().__init__()

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def script(self, *answers: str) -> None:
        """The next answers, in order (after them: the default)."""
        with self._lock:
            self._answers.extend(answers)

    def reset(self) -> None:
        with self._lock:
            self._answers.clear()
            self.requests.clear()
            self.refused.clear()

    def answer(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Answer:
        sent = {k.lower(): v for k, v in headers.items()}
        if self.api_key is not None and sent.get("authorization") != f"Bearer {self.api_key}":
            return _error(401, "Incorrect API key provided.", "invalid_api_key")
        if method == "GET" and path == "/v1/models":
            return (
                200,
                {
                    "object": "list",
                    "data": [{"id": self.model, "object": "model", "owned_by": "standin"}],
                },
                {},
            )
        if method != "POST" or path != "/v1/chat/completions":
            return _error(404, f"Unknown request URL: {method} {path}")
        try:
            body = json.loads(raw)
        except ValueError:
            return _error(400, "We could not parse the JSON body of your request.")
        messages = body.get("messages") if isinstance(body, dict) else None
        if not isinstance(body.get("model"), str) or not body["model"]:
            return _error(400, "you must provide a model parameter")
        if not isinstance(messages, list) or not messages:
            return _error(400, "'messages' must be a non-empty array")
        for message in messages:
            if not isinstance(message, dict) or message.get("role") not in ROLES:
                return _error(400, "each message needs a valid 'role'")
            if not isinstance(message.get("content"), str):
                return _error(400, "each message needs a string 'content'")
        kind = format_kind(body.get("response_format"))
        if kind is not None:
            refused = _refusal(kind, self.accepts)
            if refused is not None:
                with self._lock:
                    self.refused.append(body)
                return refused
            if kind == "json_schema":
                spec = body["response_format"].get("json_schema")
                if (
                    not isinstance(spec, dict)
                    or not spec.get("name")
                    or not isinstance(spec.get("schema"), dict)
                ):
                    return _error(400, "Missing required parameter: 'response_format.json_schema'.")
        with self._lock:
            self.requests.append(body)
            content = self._answers.pop(0) if self._answers else None
        if content is None:
            content = self.default(body)
        prompt = sum(len(m["content"]) for m in messages) // 4
        completion = len(content) // 4
        return (
            200,
            {
                "id": f"chatcmpl-{len(self.requests)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": self.model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt,
                    "completion_tokens": completion,
                    "total_tokens": prompt + completion,
                },
            },
            {},
        )
