"""The one settings object: every process reads its configuration from here."""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from remediator import __version__, defaults
from remediator.durations import parse_duration
from remediator.errors import ConfigurationError

EXAMPLE_RULES = Path(__file__).parent / "rules" / "example_rules.yaml"
"""The example rules shipped with the package, used when REMEDIATOR_RULES_FILE is unset."""

ROLE_NAMES = ("viewer", "operator", "approver", "admin")
"""The roles, lowest first (remediator.people.roles holds what each may do)."""

EMBEDDED_BROKER_FILE = "embedded-redis.url"
"""File in the data dir where `remediator up` publishes its embedded Redis URL."""


class Settings(BaseSettings):
    """Configuration from the environment (`REMEDIATOR_` prefix; `PORT` for the web port)."""

    model_config = SettingsConfigDict(env_prefix="REMEDIATOR_", extra="ignore", populate_by_name=True)

    broker_url: str | None = None
    """Redis URL of the broker and job store; unset means the embedded Redis of `remediator up`.
    `sentinel://h1:26379;sentinel://h2:26379/0` finds the master through Redis Sentinel."""

    sentinel_master: str = "mymaster"
    """The Sentinel service (master group) name, with a `sentinel://` broker URL."""

    heartbeat_interval: float = Field(default=60.0, gt=0)
    """Seconds between beat's heartbeats (and sweeps) per tier; Sentry's monitors expect one a minute."""

    data_dir: Path = Path("var")
    """Where the embedded Redis, generated secrets, logs and beat's schedule live."""

    rules_file: Path = EXAMPLE_RULES
    """YAML rule file."""

    sentry_client_secret: str | None = None
    """Client secret of the Sentry integration; webhooks are verified with it."""

    api_token: str | None = None
    """The bootstrap admin's token (for /api/*, the console and the remote CLI): use it to
    add the first people, then rotate it away (docs: README, Security)."""

    remote_url: str | None = Field(
        default=None, validation_alias=AliasChoices("REMEDIATOR_URL", "remote_url")
    )
    """The remote CLI: operator commands (jobs approve, pause, users…) go to this running
    remediator's API, as the person REMEDIATOR_TOKEN belongs to, instead of to Redis."""

    remote_token: str | None = Field(
        default=None, validation_alias=AliasChoices("REMEDIATOR_TOKEN", "remote_token")
    )
    """Your personal token for the remote CLI (`remediator users token NAME` issues one)."""

    metrics_token: str | None = None
    """Bearer token for /metrics; unset: /metrics is open (as Prometheus scrapes by default)."""

    port: int = Field(default=8000, ge=1, le=65535, validation_alias="PORT")
    """Port of the web process."""

    flower_port: int = Field(default=5555, ge=1, le=65535)
    """Port of Flower under `remediator up --flower` (on 127.0.0.1)."""

    flower_url: str | None = None
    """Where operators reach Flower; the dashboard links to it (`up --flower` sets it)."""

    session_hours: float = Field(default=12.0, gt=0)
    """How long a console sign-in lasts at most (REMEDIATOR_SESSION_HOURS)."""

    session_idle_minutes: float = Field(default=60.0, gt=0)
    """A console session unused this long ends (REMEDIATOR_SESSION_IDLE_MINUTES)."""

    signin_max_failures: int = Field(default=10, ge=1)
    """Failed sign-ins per address, and per person, within signin_failure_window before
    further attempts get 429 (REMEDIATOR_SIGNIN_MAX_FAILURES)."""

    signin_failure_window: float = Field(default=600.0, gt=0)
    """Seconds over which failed sign-ins are counted."""

    two_person_classes: Annotated[tuple[str, ...], NoDecode] = ()
    """Priority classes whose production (approval-tier) jobs need two different approvers
    unless their rule says `approval:` (comma-separated, e.g. `A`)."""

    oidc_issuer: str | None = None
    """OpenID Connect issuer URL for console sign-in (its discovery document is read from
    `<issuer>/.well-known/openid-configuration`); unset: token sign-in only."""

    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    oidc_role_claim: str = "groups"
    """The ID token's claim (a string or a list of strings) whose values map to roles."""

    oidc_roles: dict[str, str] = Field(default_factory=dict)
    """Claim value → role, as JSON: `{"sre-admins": "admin", "sre": "approver"}`; a person
    gets the highest role any of their values maps to, none when nothing maps."""

    oidc_scopes: str = "openid profile email groups"
    """Scopes asked for at sign-in (`groups` where the provider has such a scope)."""

    web_host: str = "127.0.0.1"
    """Address the web process binds; 0.0.0.0 to accept Sentry from outside."""

    tiers: Annotated[tuple[str, ...], NoDecode] = defaults.DEFAULT_TIERS
    """Tiers rules may name, comma-separated; each has its own queue and worker."""

    approval_tiers: Annotated[tuple[str, ...], NoDecode] = defaults.DEFAULT_APPROVAL_TIERS
    """Tiers whose class-A jobs wait for approval unless a rule says `approval:` (comma-separated)."""

    min_verify_after: float = Field(default=defaults.MIN_VERIFY_AFTER_SECONDS, gt=0)
    """The shortest verify_after a rule may set (seconds)."""

    max_body_bytes: int = Field(default=defaults.MAX_BODY_BYTES, ge=1024)
    """Largest webhook body accepted (bytes)."""

    worker_concurrency: int = Field(default=2, ge=1)
    """Pool processes per tier worker started by `remediator up`."""

    job_retention_days: int = Field(default=30, ge=1)
    """How long job records are kept in Redis."""
    audit_retention_days: int = Field(default=400, ge=1)
    """How long audit entries are kept (REMEDIATOR_AUDIT_RETENTION_DAYS)."""

    max_queue_depth: int = Field(default=1000, ge=1)
    """A tier whose queue holds more jobs than this reports an unhealthy heartbeat."""

    sentry_dsn: str | None = Field(
        default=None, validation_alias=AliasChoices("SENTRY_DSN", "REMEDIATOR_SENTRY_DSN")
    )
    """DSN for remediator's own telemetry (transactions, errors, cron check-ins)."""

    sentry_environment: str = Field(
        default="production",
        validation_alias=AliasChoices("SENTRY_ENVIRONMENT", "REMEDIATOR_SENTRY_ENVIRONMENT"),
    )
    """The environment remediator's own telemetry is reported under."""

    sentry_release: str = Field(
        default=f"remediator@{__version__}",
        validation_alias=AliasChoices("SENTRY_RELEASE", "REMEDIATOR_SENTRY_RELEASE"),
    )
    """The release remediator's own telemetry is reported under."""

    sentry_traces_sample_rate: float = Field(default=1.0, ge=0, le=1)
    """Share of jobs traced."""

    sentry_web_traces_sample_rate: float = Field(default=0.0, ge=0, le=1)
    """Share of web requests traced (default none: a traced request costs the intake a
    third of its throughput); a traced request's jobs continue its trace, and a job keeps
    its own rate whatever its request's."""

    sentry_api_url: str = "https://sentry.io/api/0"
    """Base of Sentry's REST API (write-back and verification)."""

    sentry_auth_token: str | None = None
    """Token for Sentry's REST API (scopes event:read, event:write)."""

    sentry_org: str | None = None
    """Organization slug for the REST API's org-scoped paths."""

    sentry_app_id: str | None = None
    """The integration's own id (its uuid): webhooks our API calls cause are ignored."""

    public_url: str | None = None
    """Where people reach this service, for links in Sentry comments (default http://127.0.0.1:PORT)."""

    smtp_url: str | None = None
    """The SMTP server of email channels: `smtp://user:pass@host:587?starttls=true&from=a@b`
    (`smtps://` for TLS from the start)."""

    github_token: str | None = None
    """Token of GitHub channels (pull request and commit comments)."""

    github_api_url: str = "https://api.github.com"
    """GitHub's REST API (GitHub Enterprise: `https://host/api/v3`)."""

    analyzer: Literal["none", "llm", "seer"] = "none"
    """Who analyses production errors: `llm` (an OpenAI-compatible endpoint), `seer`
    (Sentry's Seer Autofix) or `none` (analysis jobs fail saying so)."""

    seer_stopping_points: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=lambda: {"prod": "root_cause", "nonprod": "open_pr"}
    )
    """Where Seer Autofix stops, per tier: `prod=root_cause,nonprod=open_pr` (root_cause,
    solution, code_changes or open_pr)."""

    seer_timeout: float = Field(default=1800.0, gt=0, le=2300)
    """Seconds an analysis job waits for Seer to reach its stopping point before it needs
    attention."""

    llm_base_url: str | None = None
    """The OpenAI-compatible API (`https://api.openai.com/v1`, a vLLM or llama.cpp server's
    `/v1`, Ollama's `http://host:11434/v1`)."""

    llm_model: str | None = None
    """The model to ask."""

    llm_api_key: str | None = None
    """Its API key (many self-hosted servers need none)."""

    llm_timeout: float = Field(default=60.0, gt=0)
    """Seconds one model call may take."""

    llm_response_format: Literal["auto", "json_schema", "json_object_schema", "json_object"] = "auto"
    """How the answer's shape is asked for: `auto` tries the strictest first and remembers
    what the endpoint takes; a named way starts there (`json_object`: no schema at all, as
    before structured output, to measure the difference)."""

    autofix_min_confidence: int = Field(default=85, ge=0, le=100)
    """The confidence from which an analysis's tested fix becomes a draft pull request: a
    repository's `autofix.draft_pr_at` when it sets none (see the autofix ladder)."""

    analysis_frame_vars: bool = False
    """Send the values of stack frames' variables to the analyzer (redacted even then)."""

    analysis_daily_tokens: int | None = Field(default=None, ge=1)
    """Tokens (prompt and completion) the `llm` analyses may spend per UTC day, all
    processes together; past it an analysis job ends `skipped` and nothing is sent. Unset:
    no cap."""

    llm_price_per_1k_tokens: Annotated[tuple[float, float] | None, NoDecode] = None
    """The model's price per 1,000 tokens, `input,output` (e.g. `0.15,0.60`): each analysis
    records its cost, and /metrics counts it. Unset: tokens only."""

    @field_validator("llm_price_per_1k_tokens", mode="before")
    @classmethod
    def _parse_price(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",")]
            if len(parts) != 2:
                raise ValueError(f"{value!r}: give the input and the output price, e.g. 0.15,0.60")
            return tuple(float(p) for p in parts)
        return value

    timezone: str = "UTC"
    """Timezone of the cron monitors' schedule."""

    dry_run: bool = False
    """Evaluate and record every match, run nothing (every rule, whatever it says)."""

    replay_window_seconds: float = Field(default=defaults.REPLAY_WINDOW_SECONDS, gt=0)
    """Webhooks whose Sentry-Hook-Timestamp is further than this from now are refused (401)."""

    approval_ttl_seconds: float = Field(default=defaults.APPROVAL_TTL_SECONDS, gt=0)
    """How long a job waits for approval before it expires."""

    tier_max_runs: Annotated[dict[str, tuple[int, float]], NoDecode] = Field(
        default_factory=lambda: {"prod": (60, 3600.0), "nonprod": (600, 3600.0)}
    )
    """Cap on jobs per tier across all rules: `prod=60/1h,nonprod=600/1h`."""

    visibility_timeout: float | None = Field(default=None, gt=0)
    """Seconds before a job taken by a worker that vanished is handed out again. Must exceed
    every job's hard time limit; default max(3600, twice the longest script limit)."""
    allow_short_visibility_timeout: bool = False
    """For crash-recovery drills and tests only: accept a visibility timeout below the longest
    job or verification window (such a job or check may then run twice)."""

    reconcile_after: float = Field(default=600.0, gt=0)
    """A job recorded `queued` this long (seconds) with no message on the broker is queued
    again (idempotent scripts) or marked needs_attention by the sweep."""

    spool_drain_interval: float = Field(default=1.0, gt=0)
    """Seconds between the web process's attempts to submit spooled webhooks."""

    demo_verify_after: float = Field(default=60.0, gt=0)
    """`remediator up --demo`: the demo rules' verification window (seconds)."""

    @property
    def writeback_enabled(self) -> bool:
        """Whether Sentry's REST API is configured for comments, resolution and verification."""
        return bool(self.sentry_auth_token and self.sentry_org)

    def job_url(self, job_id: str) -> str:
        """Where a person sees a job: its page on the dashboard."""
        base = (self.public_url or f"http://127.0.0.1:{self.port}").rstrip("/")
        return f"{base}/jobs/{job_id}"

    def sentry_issue_url(self, issue_id: str) -> str:
        """The issue's page in Sentry's web UI (the REST API's host, without `/api/0`)."""
        base = self.sentry_api_url.rstrip("/").removesuffix("/api/0")
        org = f"/organizations/{self.sentry_org}" if self.sentry_org else ""
        return f"{base}{org}/issues/{issue_id}/"

    @field_validator("tiers", "approval_tiers", "two_person_classes", mode="before")
    @classmethod
    def _split_tiers(cls, value: object) -> object:
        if isinstance(value, str):
            value = tuple(t.strip() for t in value.split(",") if t.strip())
        return value

    @field_validator("tiers")
    @classmethod
    def _check_tiers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("at least one tier is needed")
        for tier in value:
            if not tier.replace("-", "").replace("_", "").isalnum():
                raise ValueError(f"tier {tier!r}: use letters, digits, '-' and '_' only")
        return value

    @field_validator("two_person_classes")
    @classmethod
    def _known_classes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        known = {c.value for c in defaults.PriorityClass}
        unknown = [c for c in value if c not in known]
        if unknown:
            raise ValueError(f"unknown priority class {unknown[0]!r}; known: {', '.join(sorted(known))}")
        return value

    @field_validator("oidc_roles")
    @classmethod
    def _known_roles(cls, value: dict[str, str]) -> dict[str, str]:
        for claim, role in value.items():
            if role not in ROLE_NAMES:
                raise ValueError(f"{claim!r} maps to unknown role {role!r}; known: {', '.join(ROLE_NAMES)}")
        return value

    @field_validator("tier_max_runs", mode="before")
    @classmethod
    def _parse_caps(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        caps: dict[str, tuple[int, float]] = {}
        for part in filter(None, (p.strip() for p in value.split(","))):
            tier, _, cap = part.partition("=")
            count, _, window = cap.partition("/")
            try:
                caps[tier.strip()] = (int(count), parse_duration(window or "1h"))
            except ValueError:
                raise ValueError(f"{part!r}: write caps as prod=60/1h,nonprod=600/1h") from None
        return caps

    @field_validator("seer_stopping_points", mode="before")
    @classmethod
    def _parse_stops(cls, value: object) -> object:
        if isinstance(value, str):
            pairs = [p.partition("=") for p in value.split(",") if p.strip()]
            value = {tier.strip(): point.strip() for tier, _, point in pairs}
        if isinstance(value, dict):
            for tier, point in value.items():
                if point not in ("root_cause", "solution", "code_changes", "open_pr"):
                    raise ValueError(f"{tier}={point}: stop at root_cause, solution, code_changes or open_pr")
        return value

    @field_validator("broker_url")
    @classmethod
    def _check_broker_url(cls, value: str | None) -> str | None:
        schemes = ("redis://", "rediss://", "redis+socket://", "sentinel://")
        if value is not None and not value.startswith(schemes):
            raise ValueError(
                "must be a Redis URL such as redis://host:6379/0, or Sentinels as "
                "sentinel://host1:26379;sentinel://host2:26379/0"
            )
        return value or None

    def effective_broker_url(self) -> str:
        """The broker to use: the configured one, else the running embedded Redis."""
        if self.broker_url:
            return self.broker_url
        published = self.data_dir / EMBEDDED_BROKER_FILE
        if published.exists():
            return published.read_text().strip()
        raise ConfigurationError(
            "REMEDIATOR_BROKER_URL is not set and no embedded Redis is running under "
            f"{self.data_dir}/: start the system with `remediator up`, or set "
            "REMEDIATOR_BROKER_URL=redis://host:6379/0"
        )

    def require(self, *names: str) -> None:
        """Fail with a message naming each missing setting a process cannot run without."""
        missing = [n for n in names if not getattr(self, n)]
        if missing:
            env = ", ".join(f"REMEDIATOR_{n.upper()}" for n in missing)
            raise ConfigurationError(f"{env} must be set (or start the system with `remediator up`)")


RUNNING_UP_FILE = "running-up.json"
"""The per-user note of the `remediator up` that runs (its data dir, port, pid)."""


def running_up_path() -> Path:
    """Where `up` notes itself for the operator commands of this user, wherever they run:
    $XDG_STATE_HOME/remediator/ (default ~/.local/state/remediator/)."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "remediator" / RUNNING_UP_FILE


def running_up() -> dict[str, Any] | None:
    """The `up` this user runs now (data_dir, port, pid), if its process is alive."""
    path = running_up_path()
    try:
        note = json.loads(path.read_text())
        os.kill(int(note["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return note if isinstance(note, dict) else None


def following_running_up(settings: Settings) -> Settings:
    """For operator commands: the data dir (and port) of the `up` this user runs, unless
    REMEDIATOR_DATA_DIR says otherwise or one runs under this directory's data dir."""
    if "data_dir" in settings.model_fields_set or (settings.data_dir / EMBEDDED_BROKER_FILE).exists():
        return settings
    note = running_up()
    if note is None or not Path(note["data_dir"]).is_dir():
        return settings
    update: dict[str, Any] = {"data_dir": Path(note["data_dir"])}
    if "port" not in settings.model_fields_set and isinstance(note.get("port"), int):
        update["port"] = note["port"]
    return settings.model_copy(update=update)


def load_settings() -> Settings:
    """Read settings from the environment; invalid values fail naming the variable."""
    try:
        return Settings()
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "?"
            var = field.upper() if field.isupper() else f"REMEDIATOR_{field.upper()}"
            lines.append(f"{var}: {err['msg']}")
        raise ConfigurationError("invalid settings:\n  " + "\n  ".join(lines)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
