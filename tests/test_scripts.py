"""The script registry: built-ins, and third-party scripts through the entry-point group."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from remediator.errors import UnknownScript
from remediator.remediation_scripts import get_script, registry
from remediator.rules import parse_rules
from remediator.testing.factories import make_context

PLUGIN = """
from pydantic import BaseModel
from remediator.scripts import Script

class Params(BaseModel):
    service: str

class FlushCache(Script):
    name = "flush-cache"
    Params = Params
    time_limit = 30
    idempotent = True

    def run(self, params, ctx):
        return {"flushed": params.service}
"""


@pytest.fixture
def plugin(tmp_path: Path) -> Iterator[None]:
    """An installed distribution that registers `flush-cache` in remediator.scripts."""
    (tmp_path / "acme_scripts.py").write_text(PLUGIN)
    dist = tmp_path / "acme_scripts-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-scripts\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[remediator.scripts]\nflush-cache = acme_scripts:FlushCache\n")
    sys.path.insert(0, str(tmp_path))
    registry.cache_clear()
    yield
    sys.path.remove(str(tmp_path))
    sys.modules.pop("acme_scripts", None)
    registry.cache_clear()


def test_builtins_declare_params_time_limit_and_idempotency() -> None:
    for name, script in registry().items():
        assert script.name == name
        assert script.time_limit > 0
        assert isinstance(script.idempotent, bool)
        assert script.description


def test_third_party_script_registers_through_the_entry_point_group(plugin: None) -> None:
    script = get_script("flush-cache")
    rules = parse_rules(
        "rules:\n  - name: c\n    match: {}\n"
        "    job: {script: flush-cache, tier: prod, class: B, params: {service: api}}\n",
        scripts=registry(),
    )
    assert rules.rules[0].job.script == "flush-cache"
    ctx = make_context(tier="prod")
    assert script().run(script.Params.model_validate({"service": "api"}), ctx) == {"flushed": "api"}


def test_unknown_script_error_lists_the_known_ones() -> None:
    with pytest.raises(UnknownScript, match="unknown script 'nope'; known: analyze-production-error"):
        get_script("nope")
