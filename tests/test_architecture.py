"""The layout keeps the architecture: every part of the package sits in a layer that
lint-imports checks, and the contracts hold."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import remediator

ROOT = Path(__file__).resolve().parent.parent


def contracts() -> list[dict[str, Any]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    found: list[dict[str, Any]] = config["tool"]["importlinter"]["contracts"]
    return found


def test_every_module_and_sub_package_of_remediator_is_in_a_layer() -> None:
    [layers] = [c for c in contracts() if c["type"] == "layers"]
    named = {name.strip() for layer in layers["layers"] for name in str(layer).replace(":", "|").split("|")}
    package = Path(remediator.__file__).parent
    parts = {p.stem for p in package.glob("*.py") if p.stem not in ("__init__", "__main__")}
    parts |= {p.name for p in package.iterdir() if (p / "__init__.py").exists()}
    assert parts - named == set(), "add these to a layer in pyproject.toml"
    assert named - parts == set(), "these layers name nothing"


def test_the_import_contracts_hold() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
