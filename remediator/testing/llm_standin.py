"""An OpenAI-compatible chat-completions server over real HTTP, with scripted answers: what
the `llm` analyzer talks to in tests (and what `remediator analyze eval` can be pointed at).

    llm = LlmStandIn(api_key="k").start()
    llm.base_url                 # REMEDIATOR_LLM_BASE_URL (ends in /v1)
    llm.script(good_json, "not json")   # the next answers, in order
    llm.requests                 # every request body received
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from remediator.testing.loopback import Answer, LoopbackServer

ROLES = {"system", "user", "assistant", "developer", "tool"}


def _error(status: int, message: str, kind: str = "invalid_request_error") -> Answer:
    return status, {"error": {"message": message, "type": kind, "param": None, "code": None}}, {}


class LlmStandIn(LoopbackServer):
    """Answers chat completions with scripted texts (then the default answer)."""

    def __init__(
        self,
        model: str = "standin-model",
        api_key: str | None = None,
        default: Callable[[dict[str, Any]], str] | None = None,
    ) -> None:
        self.model, self.api_key = model, api_key
        self.default = default or (lambda request: '{"error": "no answer scripted"}')
        self.requests: list[dict[str, Any]] = []
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
