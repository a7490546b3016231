"""The rule file's `notify:` section: channels (where messages go) and routes (which events
go where), validated with the rules. Pure: `${VAR}` is read from the mapping the loader
passes in the validation context, never from the process here.

A channel whose `${VAR}` is unset is not an error: it is disabled (`rules check` says so),
so the documented default routes load on a machine that has configured none of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from remediator.defaults import PriorityClass
from remediator.rules.fields import NAME_PATTERN, Duration, _Strict

ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
"""`${VAR}`: replaced by the environment variable's value when the file loads."""

DEFAULT_DIGEST_WINDOW = 60.0
"""At most one message per (route, rule) in this many seconds; the rest go in one digest."""

PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"


class SlackChannel(_Strict):
    """A Slack incoming webhook (Block Kit messages)."""

    type: Literal["slack"]
    webhook_url: str = Field(pattern=r"^https?://")


class PagerDutyChannel(_Strict):
    """PagerDuty's Events API v2: trigger per (rule, Sentry issue), resolve once verified."""

    type: Literal["pagerduty"]
    routing_key: str = Field(min_length=1)
    url: str = Field(default=PAGERDUTY_EVENTS_URL, pattern=r"^https?://")


class EmailChannel(_Strict):
    """Plain text and HTML mail through the SMTP server of REMEDIATOR_SMTP_URL."""

    type: Literal["email"]
    to: tuple[str, ...] = Field(min_length=1)
    subject_prefix: str = "[remediator]"

    @field_validator("to", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("to")
    @classmethod
    def _addresses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for address in value:
            if not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+", address):
                raise ValueError(f"{address!r} is not an email address")
        return value


class GitHubChannel(_Strict):
    """A comment on the pull request (or commit) the Sentry event names."""

    type: Literal["github"]
    repository: str | None = Field(default=None, pattern=r"^[\w.-]+/[\w.-]+$")
    """OWNER/REPO when the event's tags and the job's params name none."""


class AppriseChannel(_Strict):
    """Any service Apprise knows (Teams, Discord, Opsgenie, Telegram...), by its URL."""

    type: Literal["apprise"]
    url: str = Field(min_length=3)


class WebhookChannel(_Strict):
    """JSON POSTed to a URL, signed with HMAC-SHA256 of the body (as Sentry signs its own)."""

    type: Literal["webhook"]
    url: str = Field(pattern=r"^https?://")
    secret: str | None = None


Channel = Annotated[
    SlackChannel | PagerDutyChannel | EmailChannel | GitHubChannel | AppriseChannel | WebhookChannel,
    Field(discriminator="type"),
]

SERVER_SETTINGS = {"email": "REMEDIATOR_SMTP_URL", "github": "REMEDIATOR_GITHUB_TOKEN"}
"""The setting a channel type needs besides its own fields: unset, its channels are disabled."""

SECRET_FIELDS = ("webhook_url", "routing_key", "url", "secret")
"""Channel fields that carry credentials (a Slack webhook URL is one): never logged or shown."""


def _listed(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class When(_Strict):
    """Which events a route takes: all the given conditions must hold."""

    events: tuple[str, ...] = Field(min_length=1)
    tier: tuple[str, ...] | None = None
    class_: tuple[PriorityClass, ...] | None = Field(default=None, alias="class")
    namespace: tuple[str, ...] | None = None
    rules: tuple[str, ...] | None = Field(default=None, alias="rule")

    @model_validator(mode="before")
    @classmethod
    def _rules_alias(cls, value: Any) -> Any:
        if isinstance(value, dict) and "rules" in value and "rule" not in value:
            value = {**value, "rule": value["rules"]}
            del value["rules"]
        return value

    _lists = field_validator("events", "tier", "class_", "namespace", "rules", mode="before")(_listed)

    @field_validator("events")
    @classmethod
    def _known_events(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        known = (info.context or {}).get("events")
        if known is not None:
            unknown = [e for e in value if e not in known]
            if unknown:
                raise ValueError(f"unknown event {unknown[0]!r}; known: {', '.join(known)}")
        return value

    @field_validator("tier")
    @classmethod
    def _known_tiers(cls, value: tuple[str, ...] | None, info: ValidationInfo) -> tuple[str, ...] | None:
        known = (info.context or {}).get("tiers")
        for tier in value or ():
            if known is not None and tier not in known:
                raise ValueError(f"unknown tier {tier!r}; known: {', '.join(known)}")
        return value

    def matches(
        self,
        event: str,
        tier: str | None,
        priority_class: str | None,
        namespace: str | None,
        rule: str | None,
    ) -> bool:
        """Whether an event of this kind, about a job (or rule, or tier) like that, is taken."""
        return (
            event in self.events
            and (self.tier is None or tier in self.tier)
            and (self.class_ is None or priority_class in {c.value for c in self.class_})
            and (self.namespace is None or namespace in self.namespace)
            and (self.rules is None or rule in self.rules)
        )


class Route(_Strict):
    """Events matching `when` go to every channel in `to`."""

    when: When
    to: tuple[str, ...] = Field(min_length=1)
    digest_window: Duration | None = None
    """This route's own window; unset: the section's."""

    _lists = field_validator("to", mode="before")(_listed)


class Notify(_Strict):
    """The whole section."""

    digest_window: Duration = DEFAULT_DIGEST_WINDOW
    channels: dict[Annotated[str, Field(pattern=NAME_PATTERN)], Channel] = Field(default_factory=dict)
    routes: tuple[Route, ...] = ()
    disabled: dict[str, str] = Field(default_factory=dict)
    """Channels left out because a `${VAR}` they use is unset: name -> why. Set by loading."""

    @model_validator(mode="before")
    @classmethod
    def _expand(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, dict):
            return value
        environ: Mapping[str, str] = (info.context or {}).get("environ") or {}
        channels = value.get("channels")
        if not isinstance(channels, dict):
            return {**value, "disabled": {}}
        expanded: dict[str, Any] = {}
        disabled: dict[str, str] = {}
        for name, spec in channels.items():
            missing: list[str] = []
            resolved = _substitute(spec, environ, missing)
            if missing:
                # An unset variable leaves nothing to validate: the channel is left out.
                disabled[str(name)] = ", ".join(dict.fromkeys(missing)) + " unset"
                continue
            expanded[name] = resolved
            server = SERVER_SETTINGS.get(str(spec.get("type"))) if isinstance(spec, dict) else None
            if server and not environ.get(server):
                # Validated all the same (a typo shows now, not once the server is set).
                disabled[str(name)] = f"{server} unset"
        return {**value, "channels": expanded, "disabled": disabled}

    @model_validator(mode="after")
    def _routes_name_channels(self) -> Notify:
        known = set(self.channels) | set(self.disabled)
        for index, route in enumerate(self.routes):
            for name in route.to:
                if name not in known:
                    raise ValueError(
                        f"route #{index + 1}: to: no channel {name!r}; "
                        f"known: {', '.join(sorted(known)) or '(none)'}"
                    )
        return self

    @property
    def usable(self) -> dict[str, Channel]:
        """The channels messages can go to (configured and not disabled)."""
        return {name: ch for name, ch in self.channels.items() if name not in self.disabled}

    def window(self, route: Route) -> float:
        """The digest window of a route."""
        return self.digest_window if route.digest_window is None else route.digest_window

    def secrets(self) -> list[str]:
        """Every credential the channels carry (to register for scrubbing)."""
        found: list[str] = []
        for channel in self.channels.values():
            for field in SECRET_FIELDS:
                value = getattr(channel, field, None)
                if isinstance(value, str) and value:
                    found.append(value)
        return found

    def routes_for(
        self,
        event: str,
        tier: str | None,
        priority_class: str | None,
        namespace: str | None,
        rule: str | None,
    ) -> Iterable[tuple[int, Route]]:
        """The routes (with their index) an event takes."""
        for index, route in enumerate(self.routes):
            if route.when.matches(event, tier, priority_class, namespace, rule):
                yield index, route


def _substitute(value: Any, environ: Mapping[str, str], missing: list[str]) -> Any:
    if isinstance(value, str):

        def one(found: re.Match[str]) -> str:
            name = found.group(1)
            if not environ.get(name):
                missing.append(name)
                return ""
            return environ[name]

        return ENV_REFERENCE.sub(one, value)
    if isinstance(value, dict):
        return {k: _substitute(v, environ, missing) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, environ, missing) for v in value]
    return value
