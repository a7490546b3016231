"""Reading and validating a rule file, with errors that name the rule and the field."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Protocol

import yaml
from pydantic import BaseModel, ValidationError

from remediator import defaults
from remediator.errors import RuleError
from remediator.rules.model import RuleSet


class ScriptInfo(Protocol):
    """What the rules need to know of a script (remediator.scripts.Script fits it)."""

    time_limit: ClassVar[int]
    Params: ClassVar[type[BaseModel]]


def load_rules(
    path: Path,
    scripts: Mapping[str, type[ScriptInfo]] | None = None,
    tiers: Iterable[str] = defaults.DEFAULT_TIERS,
    verifications: Iterable[str] | None = None,
    approval_tiers: Iterable[str] = defaults.DEFAULT_APPROVAL_TIERS,
    min_verify_after: float = defaults.MIN_VERIFY_AFTER_SECONDS,
    events: Iterable[str] | None = None,
    environ: Mapping[str, str] | None = None,
    text: str | None = None,
) -> RuleSet:
    """Load and validate a rule file (`text`: its content, when the caller already read
    it); every problem is reported in one RuleError."""
    if text is None:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise RuleError(f"{path}: cannot read the rule file: {exc.strerror}") from None
    return parse_rules(
        text,
        source=str(path),
        scripts=scripts,
        tiers=tiers,
        verifications=verifications,
        approval_tiers=approval_tiers,
        min_verify_after=min_verify_after,
        events=events,
        environ=environ,
    )


def parse_rules(
    text: str,
    source: str = "<rules>",
    scripts: Mapping[str, type[ScriptInfo]] | None = None,
    tiers: Iterable[str] = defaults.DEFAULT_TIERS,
    verifications: Iterable[str] | None = None,
    approval_tiers: Iterable[str] = defaults.DEFAULT_APPROVAL_TIERS,
    min_verify_after: float = defaults.MIN_VERIFY_AFTER_SECONDS,
    events: Iterable[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> RuleSet:
    """Validate rule-file text against the known scripts (name -> class), tiers,
    verification strategies and event kinds; every problem in the file is reported, each
    naming its rule (or notify channel or route). `${VAR}` in the notify section is read
    from `environ`."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RuleError(f"{source}: not valid YAML: {exc}") from None
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise RuleError(f"{source}: expected a mapping with a 'rules' list at the top")
    context = {
        "scripts": scripts,
        "tiers": tuple(tiers),
        "verifications": None if verifications is None else tuple(verifications),
        "approval_tiers": tuple(approval_tiers),
        "min_verify_after": min_verify_after,
        "events": None if events is None else tuple(events),
        "environ": dict(environ or {}),
    }
    problems = _duplicate_names(document)
    ruleset = None
    try:
        ruleset = RuleSet.model_validate(document, context=context)
    except ValidationError as exc:
        problems += [_describe(err, document) for err in exc.errors()]
    if problems or ruleset is None:
        raise RuleError(f"{source}: invalid rules:\n  " + "\n  ".join(problems))
    notes = []
    if "version" not in document:
        notes.append(f"no `version:` given: read as version {defaults.RULES_VERSION}")
    notes += [f"notify channel {name!r} is disabled: {why}" for name, why in ruleset.notify.disabled.items()]
    ruleset._notes = tuple(notes)
    return ruleset


def _duplicate_names(document: dict[str, Any]) -> list[str]:
    rules = document.get("rules")
    names = [r.get("name") for r in rules if isinstance(r, dict)] if isinstance(rules, list) else []
    seen: set[object] = set()
    problems = []
    for index, name in enumerate(names):
        if isinstance(name, str) and name in seen:
            problems.append(f"rule #{index + 1}: name: {name!r} is used by an earlier rule too")
        seen.add(name)
    return problems


def _describe(err: Any, document: dict[str, Any]) -> str:
    loc = list(err["loc"])
    message = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        message = "unknown field"
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
        index = loc[1]
        rules = document.get("rules")
        raw = rules[index] if isinstance(rules, list) and index < len(rules) else None
        name = raw.get("name") if isinstance(raw, dict) else None
        who = f"rule {name!r}" if name else f"rule #{index + 1}"
        field = ".".join(str(p) for p in loc[2:]) or "(rule)"
        return f"{who}: {field}: {message}"
    if len(loc) >= 3 and loc[0] == "notify" and loc[1] == "channels":
        # A discriminated union adds the type's tag to the path: channels.<name>.<type>.<field>
        rest = [str(p) for p in loc[3:]]
        if rest and rest[0] in {"slack", "pagerduty", "email", "github", "apprise", "webhook"}:
            rest = rest[1:]
        return f"notify channel {loc[2]!r}: {'.'.join(rest) or 'type'}: {message}"
    if len(loc) >= 2 and loc[0] == "repositories" and isinstance(loc[1], int):
        repos = document.get("repositories")
        raw = repos[loc[1]] if isinstance(repos, list) and loc[1] < len(repos) else None
        project = raw.get("project") if isinstance(raw, dict) else None
        who = f"repository for project {project!r}" if project else f"repository #{loc[1] + 1}"
        return f"{who}: {'.'.join(str(p) for p in loc[2:]) or '(entry)'}: {message}"
    if len(loc) >= 3 and loc[0] == "notify" and loc[1] == "routes" and isinstance(loc[2], int):
        return f"notify route #{loc[2] + 1}: {'.'.join(str(p) for p in loc[3:]) or '(route)'}: {message}"
    field = ".".join(str(p) for p in loc) or "(file)"
    return f"{field}: {message}"
