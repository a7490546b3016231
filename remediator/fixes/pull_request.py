"""The fix's pull request through the GitHub API (REMEDIATOR_GITHUB_API_URL): open a draft,
comment on the pull request a build belonged to, ask whether a pull request was merged."""

from __future__ import annotations

from typing import Any

from remediator.errors import JobFailed
from remediator.fixes.workspace import check_push
from remediator.rules.repositories import Repository
from remediator.settings import Settings


def _repo(settings: Settings, github: str, doing: str) -> Any:
    """PyGithub's handle on the repository `owner/name` (no request yet)."""
    from github import Auth, Github

    if not settings.github_token:
        raise JobFailed(f"{doing}: set REMEDIATOR_GITHUB_TOKEN")
    client = Github(
        base_url=settings.github_api_url.rstrip("/"),
        auth=Auth.Token(settings.github_token),
        timeout=15,
        retry=None,
        seconds_between_requests=None,
        seconds_between_writes=None,
        lazy=True,
    )
    return client.get_repo(github)


def _refused(what: str, exc: Any) -> JobFailed:
    return JobFailed(f"GitHub refused {what}: {exc.status} {str(exc.data)[:300]}")


def open_draft(
    settings: Settings, repository: Repository, branch: str, title: str, body: str, base: str | None = None
) -> str:
    """A draft pull request from the fix branch into `base` (default: the default branch);
    returns its URL."""
    from github import GithubException

    check_push(branch, repository)
    repo = _repo(settings, repository.github, "the fix is pushed but no pull request was opened")
    try:
        pull = repo.create_pull(
            title=title[:250], body=body, head=branch, base=base or repository.default_branch, draft=True
        )
    except GithubException as exc:
        raise _refused("the pull request", exc) from None
    return str(pull.html_url)


def comment_on_pull(settings: Settings, repository: Repository, number: int, body: str) -> str:
    """A comment on an existing pull request (the one a failed build belonged to); returns
    the comment's URL."""
    from github import GithubException

    repo = _repo(settings, repository.github, f"the fix is pushed but pull request #{number} was not told")
    try:
        comment = repo.get_issue(number).create_comment(body)
    except GithubException as exc:
        raise _refused(f"the comment on pull request #{number}", exc) from None
    return str(comment.html_url)


def pull_merged(settings: Settings, github: str, number: int) -> bool:
    """Whether the pull request of `owner/name` was merged (JobFailed when GitHub cannot say)."""
    from github import GithubException

    repo = _repo(settings, github, f"whether pull request #{number} was merged is unknown")
    try:
        return bool(repo.get_pull(number).merged)
    except GithubException as exc:
        raise _refused(f"pull request #{number}", exc) from None


def pull_number(url_or_number: str | int | None) -> int | None:
    """The number of a pull request given as `42`, `#42` or its URL (`…/pull/42`)."""
    if url_or_number is None:
        return None
    text = str(url_or_number).strip().rstrip("/").rsplit("/", 1)[-1].lstrip("#")
    return int(text) if text.isdigit() else None
