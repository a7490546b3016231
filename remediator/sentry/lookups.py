"""What rules may ask beyond the payload, looked up in Sentry only when some rule asks and
cached briefly: the release's deploy (releases and deploys API) and, for webhooks that do
not carry them (event alerts), the issue's users and events (the issue itself)."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from remediator.payloads import Deploy, Subject
from remediator.rules.engine import Lookups
from remediator.sentry.api import SentryApi, SentryApiError, parse_time

log = logging.getLogger(__name__)

CACHE_SECONDS = 60.0
"""How long an answer about a release or an environment's latest deploy is kept."""


class SubjectLookups:
    """Adds `Subject.deploy` (subjects with a release and an environment) and the issue's
    `users` and `events` (subjects of an issue whose payload lacks them)."""

    def __init__(
        self, api: SentryApi, ttl: float = CACHE_SECONDS, clock: Callable[[], float] = time.time
    ) -> None:
        self.api = api
        self.ttl = ttl
        self.clock = clock
        self._cache: dict[tuple[str, ...], tuple[float, Any]] = {}

    def _cached(self, key: tuple[str, ...], fetch: Callable[[], Any]) -> Any:
        now = self.clock()
        hit = self._cache.get(key)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        value = fetch()
        self._cache[key] = (now, value)
        return value

    def _deploys(self, version: str, environment: str) -> list[dict[str, Any]]:
        path = f"/organizations/{self.api.org}/releases/{quote(version, safe='')}/deploys/"
        found = self.api.request("GET", path) or []
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

    def enrich(self, subject: Subject, needs: Lookups) -> Subject:
        """The subject with what the rules ask for: the release's deploy; the issue's users
        and events (when the payload lacks them) and events this hour. Sentry not answering
        leaves the subject as it was (the tests that need the answer then fail; a computed
        class takes its default; the webhook is still processed)."""
        wanted = (needs.damage and subject.users is None) or needs.rate
        if wanted and subject.issue_id:
            subject = self._damage(subject, subject.issue_id)
        return self._deploy(subject) if needs.deploy else subject

    def _damage(self, subject: Subject, issue_id: str) -> Subject:
        try:
            issue = self._cached(("issue", issue_id), lambda: self.api.get_issue(issue_id))
        except SentryApiError as exc:
            log.warning("issue %s: users and events not looked up: %s", issue_id, exc)
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

    def _deploy(self, subject: Subject) -> Subject:
        if not (subject.release and subject.environment and subject.project):
            return subject
        release, env = subject.release, subject.environment
        try:
            deploys = self._cached(("deploys", release, env), lambda: self._deploys(release, env))
            if not deploys:
                return subject
            latest = self._cached(
                ("latest", subject.project, env), lambda: self._latest_release(subject.project, env)
            )
        except SentryApiError as exc:
            log.warning("release %s: deploys not looked up: %s", release, exc)
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
