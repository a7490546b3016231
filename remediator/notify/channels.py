"""Sending one message to one channel: Slack, PagerDuty, email, GitHub, a signed webhook or
Apprise. Each sender returns what the service answered, or raises NotificationFailed saying
whether another attempt may pass (and after how long, when the service said).

Errors never quote a channel's URL or key: a Slack webhook URL is a credential.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import requests

from remediator.errors import ConfigurationError, NotificationFailed
from remediator.notify.message import Message
from remediator.redaction import register_secret
from remediator.rules.notify_section import (
    AppriseChannel,
    Channel,
    EmailChannel,
    GitHubChannel,
    PagerDutyChannel,
    SlackChannel,
    WebhookChannel,
)
from remediator.settings import Settings

TIMEOUT_SECONDS = 10.0

SLACK_MAX_BLOCKS = 50
SLACK_MAX_SECTION = 3000
SLACK_MAX_FIELD = 2000
SLACK_MAX_FIELDS = 10
SLACK_MAX_HEADER = 150
SLACK_MAX_BUTTON = 75

PAGERDUTY_MAX_SUMMARY = 1024

SIGNATURE_HEADER = "Remediator-Hook-Signature"
TIMESTAMP_HEADER = "Remediator-Hook-Timestamp"


def retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _post(what: str, url: str, **kwargs: Any) -> requests.Response:
    try:
        response = requests.post(url, timeout=TIMEOUT_SECONDS, **kwargs)
    except requests.RequestException as exc:
        raise NotificationFailed(f"{what} unreachable: {type(exc).__name__}") from None
    if response.status_code == 429 or response.status_code >= 500:
        raise NotificationFailed(
            f"{what} answered {response.status_code}",
            retry_after=retry_after(response.headers.get("Retry-After")),
        )
    if response.status_code >= 400:
        refused = f"{what} refused it: {response.status_code} {response.text[:300]}"
        raise NotificationFailed(refused, retry=False)
    return response


# -- Slack -----------------------------------------------------------------------------------


def _mrkdwn(text: str) -> str:
    # Slack reads &, < and > as markup (links, mentions); the message's text is data.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(message: Message) -> dict[str, Any]:
    """Block Kit within Slack's limits: a header, the summary, up to ten facts, buttons."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": message.headline[:SLACK_MAX_HEADER]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _mrkdwn(message.summary)[:SLACK_MAX_SECTION]}},
    ]
    if message.facts:
        fields = [
            {"type": "mrkdwn", "text": f"*{_mrkdwn(name)}*\n{_mrkdwn(value)}"[:SLACK_MAX_FIELD]}
            for name, value in message.facts[:SLACK_MAX_FIELDS]
        ]
        blocks.append({"type": "section", "fields": fields})
    if message.links:
        buttons = [
            {"type": "button", "text": {"type": "plain_text", "text": text[:SLACK_MAX_BUTTON]}, "url": url}
            for text, url in message.links[:5]
        ]
        blocks.append({"type": "actions", "elements": buttons})
    return {"text": _mrkdwn(message.headline)[:SLACK_MAX_SECTION], "blocks": blocks[:SLACK_MAX_BLOCKS]}


def send_slack(channel: SlackChannel, message: Message, settings: Settings) -> str:
    """POST to the incoming webhook; Slack answers `ok`."""
    response = _post("Slack", channel.webhook_url, json=slack_payload(message))
    return f"Slack: {response.status_code} {response.text[:100]}"


# -- PagerDuty -------------------------------------------------------------------------------


def pagerduty_event(channel: PagerDutyChannel, message: Message) -> dict[str, Any]:
    """An Events API v2 event: `resolve` for a resolving message, else `trigger`, keyed per
    rule and Sentry issue so repeats collapse into one incident."""
    body: dict[str, Any] = {
        "routing_key": channel.routing_key,
        "dedup_key": message.dedup_key,
        "event_action": "resolve" if message.kind == "resolve" else "trigger",
    }
    if body["event_action"] == "trigger":
        body["payload"] = {
            "summary": message.headline[:PAGERDUTY_MAX_SUMMARY],
            "source": "remediator",
            "severity": message.severity,
            "component": message.rule or "remediator",
            "group": message.tier or "-",
            "class": message.kind,
            "custom_details": {"summary": message.summary, **dict(message.facts)},
        }
        body["client"] = "remediator"
        body["links"] = [{"href": url, "text": text} for text, url in message.links]
    return body


def send_pagerduty(channel: PagerDutyChannel, message: Message, settings: Settings) -> str:
    """POST the event; PagerDuty answers 202 with the dedup key."""
    event = pagerduty_event(channel, message)
    response = _post("PagerDuty", channel.url, json=event)
    return f"PagerDuty: {event['event_action']} {response.status_code} {response.text[:120]}"


# -- email -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmtpServer:
    """REMEDIATOR_SMTP_URL, read."""

    host: str
    port: int
    tls: bool
    starttls: bool
    user: str | None
    password: str | None
    sender: str


def smtp_server(url: str | None) -> SmtpServer:
    """Parse `smtp://user:pass@host:587?starttls=true&from=remediator@example.com`."""
    if not url:
        raise ConfigurationError(
            "email channels need REMEDIATOR_SMTP_URL (smtp://user:pass@host:587?from=a@b)"
        )
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ConfigurationError("REMEDIATOR_SMTP_URL must look like smtp://host:587 or smtps://host:465")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    password = unquote(parts.password) if parts.password else None
    register_secret(password)
    tls = parts.scheme == "smtps"
    return SmtpServer(
        host=parts.hostname,
        port=parts.port or (465 if tls else 25),
        tls=tls,
        starttls=query.get("starttls", "false").lower() in ("1", "true", "yes"),
        user=unquote(parts.username) if parts.username else None,
        password=password,
        sender=query.get("from") or f"remediator@{parts.hostname}",
    )


def email_message(channel: EmailChannel, message: Message, sender: str) -> EmailMessage:
    """Plain text and HTML, every text escaped in the HTML part."""
    mail = EmailMessage()
    mail["Subject"] = f"{channel.subject_prefix} {message.headline}".strip()[:250]
    mail["From"] = sender
    mail["To"] = ", ".join(channel.to)
    mail.set_content(message.text)
    rows = "".join(
        f"<tr><th align='left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in message.facts
    )
    links = " · ".join(f"<a href='{html.escape(u)}'>{html.escape(t)}</a>" for t, u in message.links)
    mail.add_alternative(
        f"<h2>{html.escape(message.headline)}</h2><p>{html.escape(message.summary)}</p>"
        f"<table>{rows}</table><p>{links}</p>",
        subtype="html",
    )
    return mail


def send_email(channel: EmailChannel, message: Message, settings: Settings) -> str:
    """Hand the mail to the SMTP server."""
    server = smtp_server(settings.smtp_url)
    mail = email_message(channel, message, server.sender)
    try:
        factory = smtplib.SMTP_SSL if server.tls else smtplib.SMTP
        with factory(server.host, server.port, timeout=TIMEOUT_SECONDS) as smtp:
            if server.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if server.user:
                smtp.login(server.user, server.password or "")
            refused = smtp.send_message(mail)
    except smtplib.SMTPResponseException as exc:
        # 4xx: try again later; 5xx: the server will not take it.
        raise NotificationFailed(f"SMTP answered {exc.smtp_code}", retry=400 <= exc.smtp_code < 500) from None
    except smtplib.SMTPRecipientsRefused as exc:
        refused_all = f"SMTP refused every recipient: {sorted(exc.recipients)}"
        raise NotificationFailed(refused_all, retry=False) from None
    except (OSError, smtplib.SMTPException) as exc:
        raise NotificationFailed(f"SMTP server unreachable: {type(exc).__name__}") from None
    taken = [a for a in channel.to if a not in refused]
    return f"email to {', '.join(taken)}" + (f"; refused: {', '.join(refused)}" if refused else "")


# -- GitHub ----------------------------------------------------------------------------------


def github_comment(message: Message) -> str:
    """Markdown for a pull request or commit comment (the text is data: code spans off)."""
    facts = "\n".join(f"| {k} | {v.replace('|', '/')} |" for k, v in message.facts)
    links = " · ".join(f"[{t}]({u})" for t, u in message.links)
    return (
        f"### 🤖 {message.headline}\n\n{message.summary}\n\n| | |\n|---|---|\n{facts}\n\n{links}\n"
        "\n<sub>remediator</sub>"
    )


def send_github(channel: GitHubChannel, message: Message, settings: Settings) -> str:
    """Comment on the pull request the job names (else its commit)."""
    from github import Auth, Github, GithubException

    if not settings.github_token:
        raise ConfigurationError("GitHub channels need REMEDIATOR_GITHUB_TOKEN")
    repository = message.github.get("repository") or channel.repository
    if not repository:
        raise NotificationFailed("no repository: neither the event's tags nor the job's params", retry=False)
    number, commit = message.github.get("pull_request"), message.github.get("commit")
    client = Github(
        base_url=settings.github_api_url.rstrip("/"),
        auth=Auth.Token(settings.github_token),
        timeout=int(TIMEOUT_SECONDS),
        retry=None,
        seconds_between_requests=None,
        seconds_between_writes=None,
        lazy=True,
    )
    repo = client.get_repo(repository)
    try:
        if number and str(number).isdigit():
            comment = repo.get_issue(int(number)).create_comment(github_comment(message))
            return f"GitHub: commented on {repository}#{number} ({comment.html_url})"
        if commit:
            made = repo.get_commit(commit).create_comment(github_comment(message))
            return f"GitHub: commented on {repository}@{commit[:12]} ({made.html_url})"
    except GithubException as exc:
        wait = retry_after((exc.headers or {}).get("retry-after") or (exc.headers or {}).get("Retry-After"))
        retry = exc.status == 429 or exc.status >= 500 or (exc.status == 403 and wait is not None)
        raise NotificationFailed(f"GitHub answered {exc.status}", retry=retry, retry_after=wait) from None
    except requests.RequestException as exc:
        raise NotificationFailed(f"GitHub unreachable: {type(exc).__name__}") from None
    raise NotificationFailed("no pull_request or commit tag to comment on", retry=False)


# -- webhook and Apprise ---------------------------------------------------------------------


def sign(secret: str, body: bytes) -> str:
    """The signature header's value: HMAC-SHA256 of the body, hex (Sentry signs its own so)."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def send_webhook(channel: WebhookChannel, message: Message, settings: Settings) -> str:
    """POST the message as JSON, signed when the channel has a secret."""
    body = json.dumps({"remediator": message.to_dict()}, sort_keys=True).encode()
    headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: str(int(time.time()))}
    if channel.secret:
        headers[SIGNATURE_HEADER] = sign(channel.secret, body)
    response = _post("webhook", channel.url, data=body, headers=headers)
    return f"webhook: {response.status_code}"


def send_apprise(channel: AppriseChannel, message: Message, settings: Settings) -> str:
    """Through Apprise, which knows the service behind the URL."""
    import apprise

    sender = apprise.Apprise()
    if not sender.add(channel.url):
        raise NotificationFailed("Apprise does not know the channel's URL scheme", retry=False)
    if not sender.notify(title=message.headline, body=message.text):
        raise NotificationFailed("Apprise could not deliver (see the worker's log)")
    return "Apprise: delivered"


SENDERS: dict[type[Any], Callable[[Any, Message, Settings], str]] = {
    SlackChannel: send_slack,
    PagerDutyChannel: send_pagerduty,
    EmailChannel: send_email,
    GitHubChannel: send_github,
    WebhookChannel: send_webhook,
    AppriseChannel: send_apprise,
}


def send(channel: Channel, message: Message, settings: Settings) -> str:
    """Send to a channel of any type; returns what the service answered."""
    try:
        return SENDERS[type(channel)](channel, message, settings)
    except ConfigurationError as exc:
        raise NotificationFailed(str(exc), retry=False) from None
