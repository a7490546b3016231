"""The releases side of the Sentry stand-in: releases and their deploys, created and listed
through the endpoints Sentry serves (`POST/GET /organizations/{org}/releases/`, `POST/GET
/organizations/{org}/releases/{version}/deploys/`), with the shapes it answers with."""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

Answer = tuple[int, dict[str, str], Any]

_RELEASES = re.compile(r"/api/0/organizations/([^/]+)/releases/")
_DEPLOYS = re.compile(r"/api/0/organizations/([^/]+)/releases/([^/]+)/deploys/")


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _time(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


class SentryReleases:
    """Releases of one organization, in memory."""

    def __init__(self, org: str) -> None:
        self.org = org
        self.releases: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self.releases.clear()

    def handle(self, method: str, path: str, body: Any) -> Answer | None:
        """Answer a releases request, or None when the path is not one."""
        deploys = _DEPLOYS.fullmatch(path)
        if deploys and deploys[1] == self.org:
            return self._deploys(method, unquote(deploys[2]), body if isinstance(body, dict) else {})
        releases = _RELEASES.fullmatch(path)
        if releases and releases[1] == self.org:
            return self._releases(method, body if isinstance(body, dict) else {})
        return None

    def _releases(self, method: str, body: dict[str, Any]) -> Answer:
        with self._lock:
            if method == "GET":
                newest = sorted(self.releases.values(), key=lambda r: r["dateCreated"], reverse=True)
                return 200, {}, [self._public(r) for r in newest[:100]]
            if method != "POST":
                return 405, {}, {"detail": f'Method "{method}" not allowed.'}
            version, projects = body.get("version"), body.get("projects")
            if not isinstance(version, str) or not version:
                return 400, {}, {"version": ["This field is required."]}
            if not isinstance(projects, list) or not projects:
                return 400, {}, {"projects": ["This field is required."]}
            release = self.releases.setdefault(
                version,
                {"version": version, "dateCreated": _iso(time.time()), "projects": [], "deploys": []},
            )
            release["projects"] = [{"slug": p, "name": p} for p in projects]
            return 201, {}, self._public(release)

    def _deploys(self, method: str, version: str, body: dict[str, Any]) -> Answer:
        with self._lock:
            release = self.releases.get(version)
            if release is None:
                return 404, {}, {"detail": "The requested resource does not exist"}
            if method == "GET":
                return 200, {}, list(release["deploys"])
            if method != "POST":
                return 405, {}, {"detail": f'Method "{method}" not allowed.'}
            if not isinstance(body.get("environment"), str) or not body["environment"]:
                return 400, {}, {"environment": ["This field is required."]}
            finished = body.get("dateFinished") or _iso(time.time())
            deploy = {
                "id": str(sum(len(r["deploys"]) for r in self.releases.values()) + 1),
                "environment": body["environment"],
                "name": body.get("name"),
                "url": body.get("url"),
                "dateStarted": body.get("dateStarted"),
                "dateFinished": _iso(_time(finished)),
            }
            release["deploys"].append(deploy)
            return 201, {}, deploy

    def rest_release(self, version: str) -> dict[str, Any] | None:
        """The release as an event's `release` shows it, when this organization knows it."""
        with self._lock:
            release = self.releases.get(version)
            return None if release is None else self._public(release)

    @staticmethod
    def _public(release: dict[str, Any]) -> dict[str, Any]:
        deploys = sorted(release["deploys"], key=lambda d: d["dateFinished"])
        return {
            "version": release["version"],
            "shortVersion": release["version"],
            "dateCreated": release["dateCreated"],
            "projects": release["projects"],
            "deployCount": len(deploys),
            "lastDeploy": deploys[-1] if deploys else None,
        }
