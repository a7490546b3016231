"""Slack, PagerDuty and GitHub as far as remediator's notifications (and fixes) use them, over real
HTTP on loopback, checking the request shapes the real services accept and answering like
them (including 429 with Retry-After when told to throttle); plus a plain webhook receiver.

    standin = NotifyStandIn(github_token="t").start()
    standin.slack_url        # an incoming-webhook URL
    standin.pagerduty_url    # the Events API v2 enqueue URL
    standin.github_api_url   # REMEDIATOR_GITHUB_API_URL
    standin.hook_url         # any JSON receiver (webhook and Apprise's json:// channels)
    standin.throttle("/slack", times=1, retry_after=1)
    standin.requests         # everything received, in order
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from typing import Any

from remediator.testing.loopback import LoopbackServer

PAGERDUTY_SEVERITIES = {"critical", "error", "warning", "info"}
PAGERDUTY_ACTIONS = {"trigger", "acknowledge", "resolve"}


def slack_problems(body: Any) -> list[str]:
    """What Slack would refuse in an incoming-webhook payload (`invalid_blocks`...)."""
    if not isinstance(body, dict):
        return ["invalid_payload"]
    problems = []
    if not isinstance(body.get("text"), str) and not body.get("blocks"):
        problems.append("no_text")
    blocks = body.get("blocks") or []
    if not isinstance(blocks, list) or len(blocks) > 50:
        problems.append("invalid_blocks: at most 50 blocks")
        return problems
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            text = block.get("text") or {}
            if text.get("type") != "plain_text" or len(text.get("text", "")) > 150:
                problems.append("invalid_blocks: header must be plain_text of at most 150 characters")
        elif kind == "section":
            if "text" in block and len(block["text"].get("text", "")) > 3000:
                problems.append("invalid_blocks: section text over 3000 characters")
            fields = block.get("fields") or []
            if len(fields) > 10 or any(len(f.get("text", "")) > 2000 for f in fields):
                problems.append("invalid_blocks: at most 10 fields of at most 2000 characters")
            if "text" not in block and not fields:
                problems.append("invalid_blocks: a section needs text or fields")
        elif kind == "actions":
            elements = block.get("elements") or []
            if not elements or len(elements) > 25:
                problems.append("invalid_blocks: actions need 1 to 25 elements")
            for element in elements:
                if len((element.get("text") or {}).get("text", "")) > 75:
                    problems.append("invalid_blocks: button text over 75 characters")
        else:
            problems.append(f"invalid_blocks: unknown block type {kind!r}")
    return problems


def pagerduty_problems(body: Any) -> list[str]:
    """What the Events API v2 would refuse (it answers 400 "Event object is invalid")."""
    if not isinstance(body, dict):
        return ["body must be a JSON object"]
    problems = []
    if not isinstance(body.get("routing_key"), str) or len(body["routing_key"]) != 32:
        problems.append("'routing_key' must be a 32-character integration key")
    action = body.get("event_action")
    if action not in PAGERDUTY_ACTIONS:
        problems.append("'event_action' must be trigger, acknowledge or resolve")
    if action in ("acknowledge", "resolve") and not body.get("dedup_key"):
        problems.append("'dedup_key' is required to acknowledge or resolve")
    if len(str(body.get("dedup_key", ""))) > 255:
        problems.append("'dedup_key' is longer than 255 characters")
    if action == "trigger":
        payload = body.get("payload")
        if not isinstance(payload, dict):
            problems.append("'payload' is required to trigger")
        else:
            if not payload.get("summary") or len(payload["summary"]) > 1024:
                problems.append("'payload.summary' is required, at most 1024 characters")
            if not payload.get("source"):
                problems.append("'payload.source' is required")
            if payload.get("severity") not in PAGERDUTY_SEVERITIES:
                problems.append("'payload.severity' must be critical, error, warning or info")
    return problems


class NotifyStandIn(LoopbackServer):
    """The services, in one HTTP server on a free loopback port."""

    def __init__(
        self, github_token: str = "github-test-token", git_remotes: dict[str, str] | None = None
    ) -> None:
        self.github_token = github_token
        self.git_remotes = dict(git_remotes or {})
        """owner/repo -> the bare repository on disk that is its remote (pulls check refs there)."""
        self.pulls: list[dict[str, Any]] = []
        """GitHub: every pull request opened."""
        self.requests: list[dict[str, Any]] = []
        self.incidents: dict[str, str] = {}
        """PagerDuty: dedup key -> triggered / resolved."""
        self.comments: list[dict[str, Any]] = []
        """GitHub: every comment made (repository, target, body)."""
        self._throttles: dict[str, list[float]] = {}
        self._lock = threading.Lock()
        super().__init__()

    # -- addresses ------------------------------------------------------------------------

    @property
    def slack_url(self) -> str:
        return f"{self.url}/slack/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX"

    @property
    def pagerduty_url(self) -> str:
        return f"{self.url}/pagerduty/v2/enqueue"

    @property
    def github_api_url(self) -> str:
        return f"{self.url}/github/api/v3"

    @property
    def hook_url(self) -> str:
        return f"{self.url}/hook"

    # -- control --------------------------------------------------------------------------

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.incidents.clear()
            self.comments.clear()
            self._throttles.clear()

    def throttle(self, prefix: str, times: int = 1, retry_after: float = 1.0) -> None:
        """Answer the next `times` requests under `prefix` with 429 and Retry-After."""
        with self._lock:
            self._throttles[prefix] = [retry_after] * times

    def open_pull(self, repository: str, head: str, base: str, title: str = "A change") -> dict[str, Any]:
        """A pull request a person opened (branches must exist in the repository's remote)."""
        status, pull, _ = self._pull(repository, {"title": title, "head": head, "base": base})
        if status != 201:
            raise ValueError(f"cannot open that pull request: {pull}")
        return dict(pull)

    def merge(self, number: int) -> None:
        """Mark a pull request merged, as if a person merged it."""
        with self._lock:
            pull = next(p for p in self.pulls if p["number"] == number)
            pull.update(merged=True, state="closed")

    def received(self, prefix: str, accepted_only: bool = True) -> list[dict[str, Any]]:
        """The requests under a path prefix (by default only those answered 2xx)."""
        with self._lock:
            return [
                r
                for r in self.requests
                if r["path"].startswith(prefix) and (not accepted_only or 200 <= r["status"] < 300)
            ]

    # -- handling (called by the request handler) -----------------------------------------

    def _throttled(self, path: str) -> float | None:
        with self._lock:
            for prefix, waits in self._throttles.items():
                if path.startswith(prefix) and waits:
                    return waits.pop(0)
        return None

    def answer(
        self, method: str, path: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        wait = self._throttled(path)
        status: int
        reply: Any
        extra: dict[str, str]
        if wait is not None:
            status, reply, extra = 429, {"message": "rate limited"}, {"Retry-After": f"{wait:g}"}
        elif path.startswith("/slack/"):
            problems = slack_problems(body)
            status, reply, extra = (400, problems[0], {}) if problems else (200, "ok", {})
        elif path == "/pagerduty/v2/enqueue":
            status, reply, extra = self._pagerduty(body)
        elif path.startswith("/github/api/v3/"):
            status, reply, extra = self._github(method, path[len("/github/api/v3") :], headers, body)
        elif path.startswith("/hook"):
            status, reply, extra = 200, {"ok": True}, {}
        else:
            status, reply, extra = 404, {"message": "Not Found"}, {}
        with self._lock:
            self.requests.append(
                {
                    "method": method,
                    "path": path,
                    "headers": headers,
                    "body": body,
                    "raw": raw,
                    "status": status,
                    "at": time.time(),
                }
            )
        return status, reply, extra

    def _pagerduty(self, body: Any) -> tuple[int, Any, dict[str, str]]:
        problems = pagerduty_problems(body)
        if problems:
            refused = {"status": "invalid event", "message": "Event object is invalid", "errors": problems}
            return 400, refused, {}
        key = body.get("dedup_key") or f"generated-{len(self.incidents)}"
        with self._lock:
            self.incidents[key] = "resolved" if body["event_action"] == "resolve" else "triggered"
        return 202, {"status": "success", "message": "Event processed", "dedup_key": key}, {}

    def _github(
        self, method: str, path: str, headers: dict[str, str], body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        token = headers.get("Authorization", "").partition(" ")[2]
        if token != self.github_token:
            return 401, {"message": "Bad credentials"}, {}
        parts = path.strip("/").split("/")
        if len(parts) == 4 and parts[0] == "repos" and parts[3] == "pulls" and method == "POST":
            return self._pull(f"{parts[1]}/{parts[2]}", body)
        if len(parts) == 5 and parts[0] == "repos" and parts[3] == "pulls" and method == "GET":
            with self._lock:
                found = [
                    dict(p)
                    for p in self.pulls
                    if p["repository"] == f"{parts[1]}/{parts[2]}" and str(p["number"]) == parts[4]
                ]
            return (200, found[0], {}) if found else (404, {"message": "Not Found"}, {})
        if len(parts) >= 6 and parts[0] == "repos" and parts[3:5] == ["git", "ref"] and method == "GET":
            ref = "/".join(parts[5:])
            sha = self._ref(f"{parts[1]}/{parts[2]}", ref)
            if sha is None:
                return 404, {"message": "Not Found"}, {}
            return 200, {"ref": f"refs/{ref}", "object": {"sha": sha, "type": "commit"}}, {}
        # repos/{owner}/{repo}/issues/{n}/comments or repos/{owner}/{repo}/commits/{sha}/comments
        if method == "POST" and len(parts) == 6 and parts[0] == "repos" and parts[5] == "comments":
            if parts[3] not in ("issues", "commits"):
                return 404, {"message": "Not Found"}, {}
            if not isinstance(body, dict) or not isinstance(body.get("body"), str) or not body["body"]:
                missing = {"message": "Validation Failed", "errors": [{"field": "body", "code": "missing"}]}
                return 422, missing, {}
            repository = f"{parts[1]}/{parts[2]}"
            with self._lock:
                comment_id = len(self.comments) + 1
                self.comments.append(
                    {"repository": repository, "on": parts[3], "target": parts[4], "body": body["body"]}
                )
            page = "pull" if parts[3] == "issues" else "commit"
            html_url = f"https://github.example/{repository}/{page}/{parts[4]}#c{comment_id}"
            return 201, {"id": comment_id, "body": body["body"], "html_url": html_url, "url": html_url}, {}
        return 404, {"message": "Not Found"}, {}

    def _ref(self, repository: str, ref: str) -> str | None:
        """The commit a ref (`heads/<branch>`) points at in the repository's bare remote."""
        remote = self.git_remotes.get(repository)
        if remote is None:
            return None
        done = subprocess.run(
            ["git", "--git-dir", remote, "rev-parse", "--verify", "--quiet", f"refs/{ref}"],
            capture_output=True,
            text=True,
        )
        return done.stdout.strip() or None

    def _pull(self, repository: str, body: Any) -> tuple[int, Any, dict[str, str]]:
        if repository not in self.git_remotes:
            return 404, {"message": "Not Found"}, {}
        if (
            not isinstance(body, dict)
            or not body.get("title")
            or not body.get("head")
            or not body.get("base")
        ):
            return (
                422,
                {
                    "message": "Validation Failed",
                    "errors": [{"resource": "PullRequest", "code": "missing_field"}],
                },
                {},
            )
        head, base = str(body["head"]), str(body["base"])
        for branch in (head, base):
            if self._ref(repository, f"heads/{branch}") is None:
                return (
                    422,
                    {
                        "message": "Validation Failed",
                        "errors": [{"field": "head" if branch == head else "base", "code": "invalid"}],
                    },
                    {},
                )
        if head == base:
            return (
                422,
                {
                    "message": "Validation Failed",
                    "errors": [{"message": f"No commits between {base} and {head}"}],
                },
                {},
            )
        with self._lock:
            number = len(self.pulls) + 1
            pull = {
                "number": number,
                "title": body["title"],
                "body": body.get("body") or "",
                "draft": bool(body.get("draft")),
                "state": "open",
                "merged": False,
                "head": {"ref": head, "sha": self._ref(repository, f"heads/{head}")},
                "base": {"ref": base},
                "html_url": f"https://github.example/{repository}/pull/{number}",
                "url": f"{self.github_api_url}/repos/{repository}/pulls/{number}",
                "repository": repository,
            }
            self.pulls.append(pull)
        return 201, pull, {}
