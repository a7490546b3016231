"""A local Sentry stand-in: envelope ingestion plus the REST subset remediator uses.

It is a real HTTP server (http.server, in a thread) that keeps everything in memory, so
tests assert on what actually reached "Sentry" and `remediator up --demo` runs the whole
loop with no Sentry account. Supported: POST /api/<project>/envelope/ (gzip, deflate, br)
and, under /api/0/organizations/<org>/, the issue list, issues GET/PUT, issue comments
POST, the issue's events (list, latest, one), its tag values, plus what sentry_config and
sentry_releases serve. Issues and events answer in Sentry's own shapes (`sentry_shapes`):
an event is stored once as ingestion leaves it and rendered as the REST API renders it;
the webhooks it sends carry what Sentry's webhooks carry. REST answers recorded from Sentry
(`add_recorded_issue`) are served back exactly as recorded. Control endpoints under
/_standin/ create issues and events from other processes.

This module holds the server, ingestion, authentication, rate limits, webhooks and the
control endpoints; the issue answers are sentry_issue_answers.IssueAnswers', the changes to
issues (status, comments) sentry_issue_changes.IssueChanges'.
"""

from __future__ import annotations

import hmac
import json
import re
import socket
import threading
import time
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from remediator.testing import sentry_events as sdk_events
from remediator.testing import sentry_shapes as shapes
from remediator.testing.envelopes import EnvelopeError, decompress, parse_envelope
from remediator.testing.grouping import INSTALLATION, grouping, normalized, send_webhook
from remediator.testing.sentry_config import SentryConfig
from remediator.testing.sentry_issue_answers import IssueAnswers, parse_time
from remediator.testing.sentry_issue_changes import IssueChanges
from remediator.testing.sentry_releases import SentryReleases

RATE_LIMIT, RATE_WINDOW, CONCURRENT_LIMIT = 40, 1, 25
"""The rate limit the stand-in reports on every REST answer: 40 calls a second per path and
25 at once, the figures sentry.io sends (it never refuses for them; `throttle` does)."""


iso = sdk_events.iso


class SentryStandIn(IssueAnswers, IssueChanges):
    """In-memory Sentry over real HTTP. Thread-safe; inspect it from the test process."""

    def __init__(
        self,
        token: str = "standin-token",
        org: str = "acme",
        project_id: int = 1,
        public_key: str = "publickey",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.token, self.org, self.project_id, self.public_key = token, org, project_id, public_key
        self._lock = threading.Lock()
        self.envelopes: list[dict[str, Any]] = []
        self.issues: dict[str, dict[str, Any]] = {}
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.comments: dict[str, list[dict[str, Any]]] = {}
        self.activity: dict[str, list[dict[str, Any]]] = {}
        """Each issue's status changes, as Sentry's Activity records them (set_resolved...)."""
        self.api_calls: list[dict[str, Any]] = []
        self._throttle: list[dict[str, Any]] = []
        self._window_calls: dict[tuple[str, int], int] = {}
        self.autofix_runs: dict[str, dict[str, Any]] = {}
        """Seer Autofix runs started, by issue id: run_id and the request's body."""
        self.seer_budget = True
        """False: autofix answers 402 (no Seer budget), as Sentry does."""
        self.latency = 0.0
        """Seconds every REST answer waits before it is sent (a slow Sentry, for benchmarks)."""
        self._alert: tuple[str, str] | None = None
        self._groups: dict[str, str] = {}
        self.webhook_failures: list[str] = []
        """Webhook deliveries (alert_to) that failed, as `url: reason`."""
        """Fingerprint -> issue id, for events that arrived in envelopes (alert_to)."""
        self.config = SentryConfig(org, project_id)
        self.releases = SentryReleases(org)
        """Cron monitors, dashboards, installations and issue alert rules."""
        handler = type("Handler", (_Handler,), {"standin": self})
        self._server = _QuietServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------
    @property
    def url(self) -> str:
        """Base URL of the server."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def dsn(self) -> str:
        """A DSN that sends sentry-sdk's envelopes here."""
        return f"{self.url.replace('http://', f'http://{self.public_key}@')}/{self.project_id}"

    @property
    def api_url(self) -> str:
        """REMEDIATOR_SENTRY_API_URL for this stand-in."""
        return f"{self.url}/api/0"

    def start(self) -> SentryStandIn:
        """Serve in a background thread."""
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="sentry-standin")
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> SentryStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget everything received and every issue."""
        with self._lock:
            for store in (self.envelopes, self.api_calls, self._throttle):
                store.clear()
            for mapping in (self.issues, self.events, self.comments, self.autofix_runs, self.activity):
                mapping.clear()
            self.seer_budget = True
            self.latency = 0.0
            self._groups.clear()
            self.webhook_failures.clear()
            self._alert = None
        self.config.reset()
        self.releases.reset()

    # -- what arrived --------------------------------------------------------------------
    def items(self, item_type: str) -> list[Any]:
        """Payloads of every envelope item of a type (event, transaction, check_in, ...)."""
        with self._lock:
            return [p for env in self.envelopes for h, p in env["items"] if h.get("type") == item_type]

    def transactions(self) -> list[dict[str, Any]]:
        """Transactions received."""
        return self.items("transaction")

    def errors(self) -> list[dict[str, Any]]:
        """Error events received."""
        return self.items("event")

    def check_ins(self, monitor_slug: str | None = None) -> list[dict[str, Any]]:
        """Cron check-ins received, optionally for one monitor."""
        return [c for c in self.items("check_in") if monitor_slug in (None, c.get("monitor_slug"))]

    def raw_bodies(self) -> list[bytes]:
        """Every envelope exactly as decoded (for 'no secret anywhere' checks)."""
        with self._lock:
            return [env["raw"] for env in self.envelopes]

    def comment_texts(self, issue_id: str) -> list[str]:
        """Texts of the comments posted on an issue, in order."""
        with self._lock:
            return [c["data"]["text"] for c in self.comments.get(issue_id, [])]

    # -- what it serves --------------------------------------------------------------------
    @property
    def project(self) -> dict[str, Any]:
        """The stand-in's project, as issues show it."""
        return {"id": str(self.project_id), "name": "demo", "slug": "demo", "platform": "python"}

    def add_issue(
        self,
        issue_id: str,
        title: str | None = None,
        event: dict[str, Any] | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """Create an issue whose first event is `event` (an event as ingestion leaves it:
        build one with `sentry_shapes`; by default an unhandled error named by `title`).
        The issue takes its title, culprit, level, category, type and metadata from the
        event, as in Sentry; `title` and `fields` (REST names: culprit, count, userCount,
        firstSeen, project...) then override what they name."""
        if event is None:
            exc_type, _, value = (title or "Error").partition(": ")
            event = sdk_events.error_event(
                exc_type if value else "Error",
                value or exc_type,
                [sdk_events.frame("app/main.py", "handle", 10, module="app.main")],
            )
        project = {**self.project, **dict(fields.pop("project", None) or {})}
        project["id"] = str(project["id"])
        if title is not None:
            fields["title"] = title
        issue = shapes.new_issue(issue_id, event, project, self.url, self.org, **fields)
        with self._lock:
            self.issues[issue_id] = issue
            self.events[issue_id] = []
            self.comments.setdefault(issue_id, [])
        self.add_event(
            issue_id, at=parse_time(issue["firstSeen"]) if "firstSeen" in fields else None, detail=event
        )
        return issue

    def add_recorded_issue(self, issue: dict[str, Any], events: list[dict[str, Any]] = ()) -> None:  # type: ignore[assignment]
        """Serve a REST answer recorded from Sentry (an issue's details, its events) back
        exactly as recorded; the newest event last."""
        issue_id = str(issue["id"])
        with self._lock:
            self.issues[issue_id] = {**issue, "_recorded": True}
            self.events[issue_id] = [
                {"_recorded": e, "_ts": parse_time(e["dateCreated"]), "event_id": e["eventID"]}
                for e in events
            ]
            self.comments.setdefault(issue_id, [])

    def add_event(
        self, issue_id: str, at: float | None = None, detail: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """A new event on an issue (`detail`: the event; by default one like its latest):
        it moves lastSeen and count, as in Sentry."""
        at = time.time() if at is None else at
        with self._lock:
            issue = self.issues[issue_id]
            events = self.events[issue_id]
            if detail is None:
                if not events or "_recorded" in events[-1]:
                    raise ValueError(f"issue {issue_id}: no event to repeat")
                detail = {k: v for k, v in events[-1].items() if not k.startswith("_")}
            event = {
                **detail,
                "event_id": f"{len(events) + 1:032x}"
                if detail.get("event_id") in (None, *(e["event_id"] for e in events))
                else detail["event_id"],
                "timestamp": at,
                "received": at,
                "_ts": at,
            }
            if event.get("occurrence"):
                event["occurrence"] = {
                    **event["occurrence"],
                    "eventId": event["event_id"],
                    "projectId": int(issue["project"]["id"]),
                }
            events.append(event)
            issue["lastSeen"] = iso(max(at, parse_time(issue["lastSeen"])))
            issue["count"] = str(int(issue["count"]) + 1)
            return event

    # -- what Sentry would send about them ------------------------------------------------
    def issue_webhook(self, issue_id: str, action: str = "created") -> dict[str, Any]:
        """The body of the `issue` webhook Sentry sends for this issue and action."""
        with self._lock:
            issue = dict(self.issues[issue_id])
        if action == "resolved":
            issue["status"], issue["substatus"] = "resolved", None
        return _webhook_body(action, {"issue": shapes.webhook_issue(issue)})

    def event_webhook(
        self, issue_id: str, resource: str = "event_alert", rule: str = "Send to remediator"
    ) -> dict[str, Any]:
        """The body of the `event_alert` (an issue alert rule fired: `triggered`) or
        `error` (`created`) webhook Sentry sends for the issue's latest event."""
        with self._lock:
            issue = self.issues[issue_id]
            event = self.events[issue_id][-1]
            project = issue["project"]
            data = shapes.webhook_event(
                {k: v for k, v in event.items() if k != "_ts"},
                issue_id,
                int(project["id"]),
                self.url,
                self.org,
                str(project["slug"]),
            )
        if resource == "error":
            return _webhook_body("created", {"error": data})
        return _webhook_body("triggered", {"event": data, "triggered_rule": rule})

    def send(self, url: str, secret: str, resource: str, document: dict[str, Any]) -> tuple[int, Any]:
        """Deliver a webhook body to `url`, signed as Sentry signs it."""
        return send_webhook(url, secret, resource, document["action"], document["data"])

    def throttle(
        self, times: int = 1, retry_after: float | None = 1.0, reset_in: float | None = None
    ) -> None:
        """Answer the next `times` REST calls 429 with Retry-After (and/or the reset header)."""
        with self._lock:
            self._throttle.extend({"retry_after": retry_after, "reset_in": reset_in} for _ in range(times))

    # -- HTTP ----------------------------------------------------------------------------
    # Plain http.server rather than Flask: a process that runs sentry-sdk with the Flask
    # integration would otherwise trace the stand-in itself and feed it its own envelopes.
    def handle(
        self, method: str, path: str, query: dict[str, str], headers: Any, body: bytes
    ) -> tuple[int, dict[str, str], Any]:
        """Answer one request: (status, extra headers, JSON body)."""
        match = _ENVELOPE.fullmatch(path)
        if match and method == "POST":
            try:
                raw = decompress(body, headers.get("Content-Encoding", ""))
                header, items = parse_envelope(raw)
            except (EnvelopeError, OSError, ValueError) as exc:
                return 400, {}, {"detail": str(exc)}
            with self._lock:
                self.envelopes.append(
                    {
                        "project_id": int(match[1]),
                        "header": header,
                        "items": items,
                        "raw": raw,
                        "auth": headers.get("X-Sentry-Auth"),
                    }
                )
            self._ingest(items)
            return 200, {}, {"id": header.get("event_id")}
        if path.startswith("/api/0/"):
            return self._api(method, path, query, headers, body)
        if path.startswith("/_standin/"):
            return self._control(method, path, body)
        page = _ISSUE_PAGE.fullmatch(path)
        if page and method == "GET":
            return self._issue_page(page[1])
        return 404, {}, {"detail": "not found"}

    def _issue_page(self, issue_id: str) -> tuple[int, dict[str, str], Any]:
        """The issue's page in Sentry's web UI, as far as the stand-in has one: its title,
        status and comments (so the links remediator writes lead somewhere in the demo).
        Every text is escaped: titles and comments are data."""
        with self._lock:
            issue = self.issues.get(issue_id)
            comments = [c["data"]["text"] for c in self.comments.get(issue_id, [])]
        if issue is None:
            return 404, {}, Html(f"<h1>No issue {escape(issue_id)}</h1>")
        items = "".join(f"<li><pre>{escape(text)}</pre></li>" for text in comments) or "<li>none</li>"
        return (
            200,
            {},
            Html(
                f"<!doctype html><title>{escape(str(issue.get('title')))}</title>"
                f"<h1>{escape(str(issue.get('title')))}</h1>"
                f"<p>Issue {escape(issue_id)} · status <b>{escape(str(issue.get('status')))}</b>"
                f" · {escape(str(issue.get('count')))} events (the Sentry stand-in)</p>"
                f"<h2>Comments</h2><ol>{items}</ol>"
            ),
        )

    def _api(
        self, method: str, path: str, query: dict[str, str], headers: Any, body: bytes
    ) -> tuple[int, dict[str, str], Any]:
        """Answer a REST call with the rate-limit headers Sentry's middleware puts on every
        answer (src/sentry/middleware/ratelimit.py): a fixed window of RATE_WINDOW seconds,
        RATE_LIMIT calls in it, per path."""
        now = time.time()
        window = int(now // RATE_WINDOW) * RATE_WINDOW
        with self._lock:
            key = (path, window)
            self._window_calls = {k: n for k, n in self._window_calls.items() if k[1] == window}
            self._window_calls[key] = used = self._window_calls.get(key, 0) + 1
        status, extra, answer = self._answer_api(method, path, query, headers, body)
        limits = {
            "X-Sentry-Rate-Limit-Limit": str(RATE_LIMIT),
            "X-Sentry-Rate-Limit-Remaining": str(max(0, RATE_LIMIT - used)),
            "X-Sentry-Rate-Limit-Reset": str(window + RATE_WINDOW),
            "X-Sentry-Rate-Limit-ConcurrentLimit": str(CONCURRENT_LIMIT),
            "X-Sentry-Rate-Limit-ConcurrentRemaining": str(CONCURRENT_LIMIT - 1),
        }
        return status, limits | extra, answer

    def _answer_api(
        self, method: str, path: str, query: dict[str, str], headers: Any, body: bytes
    ) -> tuple[int, dict[str, str], Any]:
        document = _json(body)
        if self.latency > 0:
            time.sleep(self.latency)
        with self._lock:
            self.api_calls.append({"method": method, "path": path, "at": time.time(), "json": document})
            throttled = self._throttle.pop(0) if self._throttle else None
        token = (headers.get("Authorization") or "").removeprefix("Bearer ")
        if not hmac.compare_digest(token.encode(), self.token.encode()):
            return 401, {}, {"detail": "Invalid token"}
        if throttled is not None:
            extra = {}
            if throttled["retry_after"] is not None:
                extra["Retry-After"] = str(throttled["retry_after"])
            if throttled["reset_in"] is not None:
                extra["X-Sentry-Rate-Limit-Reset"] = str(int(time.time() + throttled["reset_in"]))
            return 429, extra, {"detail": "You are attempting to use this endpoint too frequently."}
        if path == f"/api/0/organizations/{self.org}/" and method == "GET":
            return 200, {}, self._organization()
        autofix = _AUTOFIX.fullmatch(path)
        if autofix and autofix[1] == self.org:
            return self._autofix(method, autofix[2], document)
        configured = self.config.handle(method, path, document)
        if configured is not None:
            return configured
        released = self.releases.handle(method, path, document)
        if released is not None:
            return released
        listing = _ISSUES.fullmatch(path)
        if listing and listing[1] == self.org and method == "GET":
            return self._list_issues(path, query)
        match = _ISSUE.fullmatch(path)
        if not match or match[1] != self.org:
            return 404, {}, {"detail": "The requested resource does not exist"}
        return self._issue_answer(method, match[2], match[3] or "", query, document)

    def _autofix(self, method: str, issue_id: str, body: Any) -> tuple[int, dict[str, str], Any]:
        with self._lock:
            if issue_id not in self.issues:
                return 404, {}, {"detail": "The requested resource does not exist"}
            if method == "GET":
                run = self.autofix_runs.get(issue_id)
                state = {"run_id": run["run_id"], "status": "PROCESSING"} if run else None
                return 200, {}, {"autofix": state}
            if method != "POST":
                return 405, {}, {"detail": f'Method "{method}" not allowed.'}
            if not self.seer_budget:
                return 402, {}, {"detail": "No budget for Seer Autofix."}
            body = body if isinstance(body, dict) else {}
            if body.get("step", "root_cause") not in SEER_STEPS:
                return 400, {}, {"step": [f'"{body.get("step")}" is not a valid choice.']}
            if body.get("stopping_point") not in (None, *SEER_STOPPING_POINTS):
                return 400, {}, {"stopping_point": [f'"{body.get("stopping_point")}" is not a valid choice.']}
            run_id = 70_000 + len(self.autofix_runs) + 1
            self.autofix_runs[issue_id] = {"run_id": run_id, "request": body}
            return 202, {}, {"run_id": run_id, "sentry_run_id": run_id}

    def send_seer(
        self,
        url: str,
        secret: str,
        issue_id: str,
        action: str,
        data: dict[str, Any],
        run_id: int | None = None,
    ) -> tuple[int, Any]:
        """Deliver a signed `seer` webhook for the issue's run to `url`, as Sentry does."""
        run = run_id if run_id is not None else self.autofix_runs[issue_id]["run_id"]
        data = {"run_id": run, "group_id": int(issue_id), **data}
        return send_webhook(url, secret, "seer", action, data)

    def alert_to(self, url: str, secret: str) -> None:
        """From now on, group each error event that arrives in an envelope into an issue (by
        its fingerprint, else its title) and deliver a signed `issue` `created` webhook to
        `url` for each new issue, as Sentry does for an installed integration."""
        self._alert = (url, secret)

    def stop_alerts(self) -> None:
        """Stop turning ingested events into issues and webhooks."""
        self._alert = None

    def _deliver(self, *args: Any) -> None:
        """One webhook delivery; a failure is kept in `webhook_failures` (Sentry records
        failed deliveries in the integration's dashboard and does not retry them)."""
        try:
            status, _ = send_webhook(*args)
        except OSError as exc:
            status = None
            with self._lock:
                self.webhook_failures.append(f"{args[0]}: {exc}")
        if status is not None and status >= 400:
            with self._lock:
                self.webhook_failures.append(f"{args[0]}: HTTP {status}")

    def _ingest(self, items: list[tuple[dict[str, Any], Any]]) -> None:
        """A check-in's monitor_config upserts its monitor; error events become issues
        (called with every envelope when alert_to is set)."""
        for header, item in items:
            if header.get("type") == "check_in" and isinstance(item, dict) and item.get("monitor_slug"):
                slug = str(item["monitor_slug"])
                self.config.upsert_monitor(slug, item.get("monitor_config"))
                environment = str(item.get("environment") or "production")
                self.config.note_check_in(slug, environment, str(item.get("status")), time.time())
        if self._alert is None:
            return
        for header, event in items:
            if header.get("type") != "event" or not isinstance(event, dict):
                continue
            key = grouping(event)
            with self._lock:
                issue_id = self._groups.get(key)
                new = issue_id is None
                if issue_id is None:
                    issue_id = self._groups[key] = str(9000 + len(self._groups) + 1)
            if new:
                self.add_issue(issue_id, event=normalized(event))
                # After the envelope is answered, as Sentry alerts after ingestion.
                threading.Thread(
                    target=self._deliver,
                    args=(*self._alert, "issue", "created", self.issue_webhook(issue_id)["data"]),
                    daemon=True,
                ).start()
            else:
                self.add_event(issue_id, detail=normalized(event))

    def _control(self, method: str, path: str, body: bytes) -> tuple[int, dict[str, str], Any]:
        if path == "/_standin/issues" and method == "POST":
            document = dict(_json(body) or {})
            return 201, {}, self.add_issue(str(document.pop("id")), **document)
        match = re.fullmatch(r"/_standin/issues/([^/]+)", path)
        if match and method == "DELETE":
            with self._lock:
                removed = self.issues.pop(match[1], None)
            return (200 if removed else 404), {}, {"deleted": removed is not None}
        match = re.fullmatch(r"/_standin/issues/([^/]+)/webhook", path)
        if match and method == "GET" and match[1] in self.issues:
            return 200, {}, self.issue_webhook(match[1])
        match = re.fullmatch(r"/_standin/issues/([^/]+)/events", path)
        if match and method == "POST":
            self.add_event(match[1])
            return 201, {}, self._rest_event(self.issues[match[1]], len(self.events[match[1]]) - 1)
        if path.startswith("/_standin/service/"):
            # A pretend service's admin endpoints (drain, restart, healthz) for the demo.
            return 200, {}, {"ok": True, "path": path.removeprefix("/_standin/service")}
        if path == "/_standin/envelopes" and method == "GET":
            with self._lock:
                return (
                    200,
                    {},
                    [
                        {"type": h.get("type"), "payload": p}
                        for env in self.envelopes
                        for h, p in env["items"]
                        if not isinstance(p, bytes)
                    ],
                )
        if path == "/_standin/state" and method == "GET":
            with self._lock:
                return (
                    200,
                    {},
                    {
                        "issues": self.issues,
                        "comments": {k: [c["data"]["text"] for c in v] for k, v in self.comments.items()},
                        "envelopes": len(self.envelopes),
                    },
                )
        return 404, {}, {"detail": "not found"}


_ENVELOPE = re.compile(r"/api/(\d+)/envelope/")
_ISSUE_PAGE = re.compile(r"/organizations/[^/]+/issues/([^/]+)/?")
_AUTOFIX = re.compile(r"/api/0/organizations/([^/]+)/issues/([^/]+)/autofix/")
SEER_STEPS = ("root_cause", "solution", "code_changes", "pr_iteration", "open_pr", "coding_agent_handoff")
SEER_STOPPING_POINTS = ("root_cause", "solution", "code_changes", "open_pr")
_ISSUES = re.compile(r"/api/0/organizations/([^/]+)/issues/")
_ISSUE = re.compile(
    r"/api/0/organizations/([^/]+)/issues/([^/]+)/(comments/|activities/|events/(?:latest/|[0-9a-f]+/)?|tags/[^/]+/)?"
)


def _webhook_body(action: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "action": action,
        "actor": {"id": "sentry", "name": "Sentry", "type": "application"},
        "data": data,
        "installation": {"uuid": INSTALLATION},
    }


def _json(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


class Html(str):
    """A page the stand-in answers as HTML rather than JSON."""


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client hanging up mid-request is not worth a traceback


class _Handler(BaseHTTPRequestHandler):
    standin: SentryStandIn
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out as two writes: without this, Nagle's algorithm and the
        # client's delayed ACK add 40 ms to every kept-alive answer (Sentry adds none).
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _serve(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        status, extra, document = self.standin.handle(self.command, url.path, query, self.headers, body)
        page = isinstance(document, Html)
        reply = document.encode() if page else json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8" if page else "application/json")
        self.send_header("Content-Length", str(len(reply)))
        for key, value in extra.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(reply)

    do_GET = do_POST = do_PUT = do_DELETE = _serve

    def log_message(self, *args: Any) -> None:
        pass
