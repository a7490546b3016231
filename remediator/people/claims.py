"""Who an identity provider says someone is, and the role that makes them: pure. A person
signed in through OpenID Connect gets the highest role any value of the role claim (a string
or a list of strings; `groups` by default) maps to in REMEDIATOR_OIDC_ROLES, and none when
nothing maps — signed in, allowed nothing, and told why."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from remediator.people.roles import Role, highest

MAX_NAME = 120


def person_name(claims: Mapping[str, Any]) -> str:
    """The name the audit trail records: the email, else the preferred username, else the
    issuer's subject identifier."""
    for field in ("email", "preferred_username", "sub"):
        value = claims.get(field)
        if isinstance(value, str) and value.strip():
            return " ".join(value.split())[:MAX_NAME]
    return "unknown"


def claim_values(claims: Mapping[str, Any], claim: str) -> list[str]:
    value = claims.get(claim)
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def role_from(claims: Mapping[str, Any], claim: str, mapping: Mapping[str, str]) -> tuple[Role | None, str]:
    """(the role, why none when None)."""
    values = claim_values(claims, claim)
    role = highest([Role.parse(mapping[v]) for v in values if v in mapping])
    if role is not None:
        return role, ""
    shown = ", ".join(values[:10]) or "absent"
    return None, (
        f"the identity provider's {claim!r} claim ({shown}) maps to no role: "
        "an admin maps its values to roles with REMEDIATOR_OIDC_ROLES"
    )
