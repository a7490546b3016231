"""What rules may ask beyond the payload, looked up in Sentry only when a rule that could
match the webhook asks, and cached briefly: the release's deploy (releases and deploys API);
for an event's subject, what the issue itself says (its users, events and events this hour,
the project's slug, substatus, priority, category and type, its first release); for an
issue's subject, what its latest event says (environment, tags, handled, release).

This runs while a webhook waits for its answer (one second, Sentry's budget): requests time
out fast and are not retried, no new request starts once BUDGET_SECONDS are spent, and a
question Sentry did not answer is not asked again for FAILURE_SECONDS. What was not looked
up makes the tests that need it fail; the webhook is still processed."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from remediator.payloads import Deploy, Subject, issue_types
from remediator.payloads.fields import EVENT_LOOKUP, ISSUE_LOOKUP
from remediator.rules.engine import Lookups
from remediator.sentry.api import SentryApi, SentryApiError, parse_time
from remediator.settings import Settings

log = logging.getLogger(__name__)

CACHE_SECONDS = 60.0
"""How long an answer about a release, an environment's latest deploy or an issue is kept."""

FAILURE_SECONDS = 15.0
"""How long a question Sentry did not answer is not asked again."""

BUDGET_SECONDS = 0.3
"""Lookups for one webhook start no request after this long."""

TIMEOUT = (0.2, 0.3)
"""Connect and read timeouts of a lookup: with the budget, at most about 0.8 s a webhook."""

MAX_ENTRIES = 4096
"""Answers kept at most (the oldest go first): issues come and go."""


PATIENT_TIMEOUT = (3.05, 10.0)
"""Timeouts of a lookup made by a worker, for a webhook whose planning was deferred."""

PATIENT_BUDGET_SECONDS = 30.0


def webhook_lookups(settings: Settings, patient: bool = False) -> SubjectLookups | None:
    """The lookups for the web's intake, with a client that fails fast (`patient`: a
    worker's, for webhooks whose lookups the web could not finish, with retries and room
    to wait); None without Sentry's API configured (REMEDIATOR_SENTRY_AUTH_TOKEN and _ORG)."""
    if not (settings.sentry_auth_token and settings.sentry_org):
        return None
    api = SentryApi(
        settings.sentry_api_url,
        settings.sentry_auth_token,
        settings.sentry_org,
        timeout=PATIENT_TIMEOUT if patient else TIMEOUT,
        max_retries=2 if patient else 0,
    )
    if patient:
        return SubjectLookups(api, budget=PATIENT_BUDGET_SECONDS, failure_ttl=0.0)
    return SubjectLookups(api)


class _Unanswered:
    """Cached in place of an answer Sentry did not give."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


class _StillUnanswered(SentryApiError):
    """The cached failure of a question asked within FAILURE_SECONDS (logged quietly)."""


def _log_unanswered(what: str, exc: SentryApiError) -> None:
    log.log(logging.DEBUG if isinstance(exc, _StillUnanswered) else logging.WARNING, "%s: %s", what, exc)


class SubjectLookups:
    """Adds `Subject.deploy` (subjects with a release and an environment) and the issue's
    `users` and `events` (subjects of an issue whose payload lacks them)."""

    def __init__(
        self,
        api: SentryApi,
        ttl: float = CACHE_SECONDS,
        clock: Callable[[], float] = time.time,
        budget: float = BUDGET_SECONDS,
        failure_ttl: float = FAILURE_SECONDS,
    ) -> None:
        self.api = api
        self.ttl = ttl
        self.clock = clock
        self.budget = budget
        self.failure_ttl = failure_ttl
        self._unanswered: threading.local = threading.local()
        self._cache: OrderedDict[tuple[str, ...], tuple[float, Any]] = OrderedDict()
        """Answers by question, with the time they expire."""
        self._lock = threading.Lock()

    def _cached(self, key: tuple[str, ...], fetch: Callable[[], Any], started: float) -> Any:
        """The answer to a question, from the cache or Sentry; SentryApiError when Sentry
        did not answer (now or within FAILURE_SECONDS) or the webhook's budget is spent."""
        now = self.clock()
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and now < hit[0]:
                self._cache.move_to_end(key)
                if isinstance(hit[1], _Unanswered):
                    raise _StillUnanswered(hit[1].reason)
                return hit[1]
        if now - started > self.budget:
            raise SentryApiError(f"the lookup budget of {self.budget:g}s for this webhook is spent")
        try:
            value = fetch()
        except SentryApiError as exc:
            if self.failure_ttl > 0:
                self._keep(key, now + self.failure_ttl, _Unanswered(f"not answered: {exc}"))
            raise
        self._keep(key, now + self.ttl, value)
        return value

    def _keep(self, key: tuple[str, ...], until: float, value: Any) -> None:
        with self._lock:
            self._cache[key] = (until, value)
            self._cache.move_to_end(key)
            while len(self._cache) > MAX_ENTRIES:
                self._cache.popitem(last=False)

    def _deploys(self, version: str, environment: str) -> list[dict[str, Any]]:
        path = f"/organizations/{self.api.org}/releases/{quote(version, safe='')}/deploys/"
        try:
            found = self.api.request("GET", path) or []
        except SentryApiError as exc:
            if exc.status == 404:  # a release Sentry does not know has no deploys: an answer
                return []
            raise
        return [d for d in found if d.get("environment") == environment and d.get("dateFinished")]

    def _latest_release(self, project: str, environment: str) -> str | None:
        """The release whose last deploy to the environment finished last, among the
        organization's newest releases of the project."""
        releases = self.api.request(
            "GET", f"/organizations/{self.api.org}/releases/", params={"per_page": "100"}
        )
        best: tuple[float, str] | None = None
        for release in releases or []:
            projects = {str(p.get(k)) for p in release.get("projects") or [] for k in ("slug", "id")}
            deploy = release.get("lastDeploy") or {}
            if (
                project not in projects
                or deploy.get("environment") != environment
                or not deploy.get("dateFinished")
            ):
                continue
            at = parse_time(deploy["dateFinished"])
            if best is None or at > best[0]:
                best = (at, str(release["version"]))
        return best[1] if best else None

    def enrich(self, subject: Subject, needs: Lookups) -> tuple[Subject, list[str]]:
        """The subject with what the rules ask for (see `fill`), and what Sentry did not
        answer (empty when everything asked was looked up)."""
        self._unanswered.found = []
        try:
            return self.fill(subject, needs), list(self._unanswered.found)
        finally:
            self._unanswered.found = []

    def _missed(self, what: str, exc: SentryApiError) -> None:
        _log_unanswered(what, exc)
        found = getattr(self._unanswered, "found", None)
        if found is not None:
            found.append(f"{what}: {exc}")

    def fill(self, subject: Subject, needs: Lookups) -> Subject:
        """The subject with what the rules ask for: the release's deploy; the issue's users
        and events (when the payload lacks them) and events this hour. Sentry not answering
        leaves the subject as it was (the tests that need the answer then fail; a computed
        class takes its default; the webhook is still processed)."""
        started = self.clock()
        damage = (needs.damage and subject.users is None) or needs.rate
        about_issue = subject.resource != "issue" and needs.fields & ISSUE_LOOKUP
        if (damage or about_issue) and subject.issue_id:
            subject = self._from_issue(subject, subject.issue_id, needs, started)
        if needs.fields & EVENT_LOOKUP and subject.issue_id and subject.resource == "issue":
            subject = self._from_latest_event(subject, subject.issue_id, started)
        return self._deploy(subject, started) if needs.deploy else subject

    def _from_latest_event(self, subject: Subject, issue_id: str, started: float) -> Subject:
        """An issue body has no environment and no tags: its latest event's (for
        `created`, the event that made the issue)."""
        try:
            event = self._cached(("latest-event", issue_id), lambda: self._event_facts(issue_id), started)
        except SentryApiError as exc:
            self._missed(f"issue {issue_id}: environment and tags not looked up", exc)
            return subject
        tags: dict[str, str] = event["tags"]
        return _with_context(
            subject,
            environment=subject.environment or tags.get("environment", ""),
            tags={**tags, **subject.tags},
            handled=subject.handled or tags.get("handled", ""),
            release=subject.release or event["release"] or tags.get("release", ""),
        )

    def _event_facts(self, issue_id: str) -> dict[str, Any]:
        """What is kept of the latest event (its tags and release; not the whole body)."""
        event = self.api.latest_event(issue_id)
        tags = {
            str(t["key"]): str(t.get("value") or "")
            for t in event.get("tags") or ()
            if isinstance(t, dict) and "key" in t
        }
        release = event.get("release")
        version = release.get("version") if isinstance(release, dict) else release
        return {"tags": tags, "release": str(version or "")}

    def _from_issue(self, subject: Subject, issue_id: str, needs: Lookups, started: float) -> Subject:
        try:
            issue = self._cached(("issue", issue_id), lambda: self.api.get_issue(issue_id), started)
        except SentryApiError as exc:
            self._missed(f"issue {issue_id}: not looked up", exc)
            return subject
        project = issue.get("project") if isinstance(issue.get("project"), dict) else {}
        first = issue.get("firstRelease") if isinstance(issue.get("firstRelease"), dict) else {}
        issue_type = str(issue.get("issueType") or "")
        subject = _with_context(
            subject,
            project=subject.project or str(project.get("slug") or ""),
            project_id=subject.project_id or str(project.get("id") or ""),
            substatus=subject.substatus or str(issue.get("substatus") or ""),
            priority=subject.priority or issue_types.priority_name(issue.get("priority")),
            issue_type=subject.issue_type or issue_type,
            issue_category=subject.issue_category
            or str(issue.get("issueCategory") or issue_types.category_of_type(issue_type)),
            release=subject.release or str(first.get("version") or ""),
        )
        if not ((needs.damage and subject.users is None) or needs.rate):
            return subject
        count = str(issue.get("count") or "")
        users = issue.get("userCount")
        hours = (issue.get("stats") or {}).get("24h") or []
        last = hours[-1] if hours and isinstance(hours[-1], list) and len(hours[-1]) == 2 else None
        return dataclasses.replace(
            subject,
            users=users if isinstance(users, int) else subject.users,
            events=int(count) if count.isdigit() else subject.events,
            events_last_hour=int(last[1]) if last is not None else None,
        )

    def _deploy(self, subject: Subject, started: float) -> Subject:
        if not (subject.release and subject.environment and subject.project):
            return subject
        release, env = subject.release, subject.environment
        try:
            deploys = self._cached(("deploys", release, env), lambda: self._deploys(release, env), started)
            if not deploys:
                return subject
            latest = self._cached(
                ("latest", subject.project, env), lambda: self._latest_release(subject.project, env), started
            )
        except SentryApiError as exc:
            self._missed(f"release {release}: deploys not looked up", exc)
            return subject
        last = max(deploys, key=lambda d: parse_time(d["dateFinished"]))
        finished = parse_time(last["dateFinished"])
        deploy = Deploy(
            release=release,
            environment=env,
            finished_at=finished,
            age=max(0.0, self.clock() - finished),
            name=str(last.get("name") or last.get("url") or ""),
            latest=latest == release,
        )
        return dataclasses.replace(subject, deploy=deploy)


def _with_context(subject: Subject, **fields: Any) -> Subject:
    """The subject with some fields changed, templates seeing them too."""
    changed = {k: v for k, v in fields.items() if v != getattr(subject, k)}
    if not changed:
        return subject
    return dataclasses.replace(subject, **changed, context={**subject.context, **changed})
