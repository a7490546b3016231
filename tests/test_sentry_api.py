"""The Sentry REST client against the stand-in: org-scoped calls, retries that honour
Sentry's rate-limit headers, clear errors."""

from __future__ import annotations

import time

import pytest

from remediator.sentry.api import SentryApi, SentryApiError
from remediator.testing import SentryStandIn
from tests.helpers import STANDIN_TOKEN


@pytest.fixture
def api(standin: SentryStandIn) -> SentryApi:
    standin.add_issue("77", title="Pool exhausted")
    return SentryApi(standin.api_url, STANDIN_TOKEN, "acme", backoff=0.05)


def test_issue_comment_events_and_status_round_trip(api: SentryApi, standin) -> None:
    assert api.get_issue("77")["title"] == "Pool exhausted"
    api.add_comment("77", "hello")
    assert standin.comment_texts("77") == ["hello"]
    assert api.latest_event("77")["groupID"] == "77"
    assert len(api.list_events("77")) == 1
    assert api.update_status("77", "resolved")["status"] == "resolved"
    assert standin.issues["77"]["status"] == "resolved"


def test_429_is_retried_after_retry_after(api: SentryApi, standin) -> None:
    standin.throttle(2, retry_after=0.5)
    started = time.monotonic()
    api.add_comment("77", "after the storm")
    assert time.monotonic() - started >= 1.0
    assert standin.comment_texts("77") == ["after the storm"]
    assert [c["method"] for c in standin.api_calls] == ["POST", "POST", "POST"]


def test_429_honours_the_rate_limit_reset_header(api: SentryApi, standin) -> None:
    standin.throttle(1, retry_after=None, reset_in=2)
    started = time.monotonic()
    api.get_issue("77")
    assert time.monotonic() - started >= 0.9  # the reset is a whole epoch second


def test_a_wait_longer_than_allowed_fails_instead_of_blocking(standin) -> None:
    standin.add_issue("78")
    api = SentryApi(standin.api_url, STANDIN_TOKEN, "acme", max_delay=1)
    standin.throttle(1, retry_after=120)
    with pytest.raises(SentryApiError, match="retry in 120s is too long") as caught:
        api.get_issue("78")
    assert caught.value.status == 429


def test_wrong_token_and_unknown_issue_are_errors_with_their_status(standin) -> None:
    with pytest.raises(SentryApiError) as caught:
        SentryApi(standin.api_url, "wrong", "acme").get_issue("1")
    assert caught.value.status == 401
    with pytest.raises(SentryApiError) as caught:
        SentryApi(standin.api_url, STANDIN_TOKEN, "acme").get_issue("nope")
    assert caught.value.status == 404


def test_duplicate_comment_is_refused_like_sentry(api: SentryApi) -> None:
    api.add_comment("77", "same words")
    with pytest.raises(SentryApiError, match="already posted that comment"):
        api.add_comment("77", "same words")


def test_unreachable_sentry_is_an_error_without_status() -> None:
    api = SentryApi("http://127.0.0.1:1/api/0", "t", "acme", max_retries=1, backoff=0.01)
    with pytest.raises(SentryApiError) as caught:
        api.get_issue("1")
    assert caught.value.status is None


def test_the_issue_links_remediator_writes_lead_to_a_page_in_the_stand_in(standin: SentryStandIn) -> None:
    import requests

    from remediator.settings import Settings

    standin.add_issue("6601", title="KeyError: '<script>alert(1)</script>'")
    api = SentryApi(standin.api_url, STANDIN_TOKEN, standin.org)
    api.add_comment("6601", "Restarted the **pool** <b>now</b>")
    url = Settings(sentry_api_url=standin.api_url, sentry_org=standin.org).sentry_issue_url("6601")
    page = requests.get(url, timeout=5)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text and "<script>" not in page.text
    assert (
        "Restarted the **pool** &lt;b&gt;now&lt;/b&gt;" in page.text
        and "status <b>unresolved</b>" in page.text
    )
    assert requests.get(url.replace("6601", "6602"), timeout=5).status_code == 404
