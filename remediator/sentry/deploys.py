"""Which release an issue began with, and whether it is the one deployed last: Sentry's
releases and deploys API, looked up for rules that ask and cached briefly."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from remediator.payloads import Deploy, Subject
from remediator.sentry.api import SentryApi, SentryApiError, parse_time

log = logging.getLogger(__name__)

CACHE_SECONDS = 60.0
"""How long an answer about a release or an environment's latest deploy is kept."""


class DeployLookup:
    """Adds `Subject.deploy` for subjects with a release and an environment."""

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

    def enrich(self, subject: Subject) -> Subject:
        """The subject with its release's deploy, if Sentry knows one in its environment
        (unchanged when it does not, or when Sentry cannot be asked: the deploy tests then
        fail, and the webhook is still processed)."""
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
