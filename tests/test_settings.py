"""Settings come from the environment; bad values fail at start naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from remediator.errors import ConfigurationError
from remediator.settings import EMBEDDED_BROKER_FILE, Settings, load_settings


@pytest.mark.parametrize(
    "var,value",
    [
        ("PORT", "http"),
        ("REMEDIATOR_BROKER_URL", "amqp://guest@localhost//"),
        ("REMEDIATOR_TIERS", ","),
        ("REMEDIATOR_MAX_BODY_BYTES", "10"),
    ],
)
def test_invalid_values_name_their_variable(monkeypatch, var: str, value: str) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigurationError, match=var):
        load_settings()


def test_tiers_are_a_comma_separated_list(monkeypatch) -> None:
    monkeypatch.setenv("REMEDIATOR_TIERS", "prod, nonprod ,edge")
    assert load_settings().tiers == ("prod", "nonprod", "edge")


def test_without_a_broker_url_the_running_embedded_redis_is_used(tmp_path: Path) -> None:
    settings = Settings(broker_url=None, data_dir=tmp_path)
    with pytest.raises(ConfigurationError, match="REMEDIATOR_BROKER_URL is not set"):
        settings.effective_broker_url()
    (tmp_path / EMBEDDED_BROKER_FILE).write_text("redis://127.0.0.1:4242/0\n")
    assert settings.effective_broker_url() == "redis://127.0.0.1:4242/0"


def test_web_app_refuses_to_start_without_secret_and_token(make_app) -> None:
    with pytest.raises(
        ConfigurationError, match="REMEDIATOR_SENTRY_CLIENT_SECRET, REMEDIATOR_API_TOKEN must be set"
    ):
        make_app(sentry_client_secret=None, api_token=None)
