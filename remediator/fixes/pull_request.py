"""Opening the fix's draft pull request through the GitHub API (REMEDIATOR_GITHUB_API_URL)."""

from __future__ import annotations

from remediator.errors import JobFailed
from remediator.fixes.workspace import check_push
from remediator.rules.repositories import Repository
from remediator.settings import Settings


def open_draft(
    settings: Settings, repository: Repository, branch: str, title: str, body: str, base: str | None = None
) -> str:
    """A draft pull request from the fix branch into `base` (default: the default branch);
    returns its URL."""
    from github import Auth, Github, GithubException

    check_push(branch, repository)
    if not settings.github_token:
        raise JobFailed("the fix is pushed but no pull request was opened: set REMEDIATOR_GITHUB_TOKEN")
    client = Github(
        base_url=settings.github_api_url.rstrip("/"),
        auth=Auth.Token(settings.github_token),
        timeout=15,
        retry=None,
        seconds_between_requests=None,
        seconds_between_writes=None,
        lazy=True,
    )
    try:
        pull = client.get_repo(repository.github).create_pull(
            title=title[:250], body=body, head=branch, base=base or repository.default_branch, draft=True
        )
    except GithubException as exc:
        raise JobFailed(f"GitHub refused the pull request: {exc.status} {str(exc.data)[:300]}") from None
    return str(pull.html_url)
