"""The four roles, each allowed what the one below it is and more, and the role every action
needs. Pure: the web's one authorization check and the console's hiding of buttons read it.

viewer reads everything; operator also pauses and resumes, holds, releases, discards and
re-enables rules; approver also approves and rejects; admin also manages people, promotes
and reloads rules."""

from __future__ import annotations

from enum import IntEnum


class Role(IntEnum):
    """Ordered: a higher role may do whatever a lower one may."""

    VIEWER = 1
    OPERATOR = 2
    APPROVER = 3
    ADMIN = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, name: str) -> Role:
        """The role of that name; ValueError naming the known ones."""
        try:
            return cls[name.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown role {name!r}; known: {', '.join(r.label for r in cls)}") from None


ROLE_NAMES = tuple(r.label for r in Role)
"""The same as remediator.settings.ROLE_NAMES (the settings validate with those; a test holds them equal)."""

NEEDS: dict[str, Role] = {
    "read": Role.VIEWER,
    "pause": Role.OPERATOR,
    "resume": Role.OPERATOR,
    "release": Role.OPERATOR,
    "discard": Role.OPERATOR,
    "enable rule": Role.OPERATOR,
    "approve": Role.APPROVER,
    "reject": Role.APPROVER,
    "read audit": Role.APPROVER,
    "promote rule": Role.ADMIN,
    "reload rules": Role.ADMIN,
    "manage people": Role.ADMIN,
}
"""The least role each action needs. Promoting a canary rule lets its production jobs run
unattended, which is why it is the admin's, beside reloading rules."""


def allowed(role: Role | None, action: str) -> bool:
    """Whether someone of `role` (None: signed in, no role) may do `action`."""
    return role is not None and role >= NEEDS[action]


def refusal(action: str, name: str, role: Role | None) -> str:
    """Why someone may not: the role the action needs and the one they have."""
    has = f"{'an' if role.label[0] in 'aeiou' else 'a'} {role.label}" if role is not None else "given no role"
    return f"{action} needs the {NEEDS[action].label} role; {name} is {has}"


def highest(mapped: list[Role]) -> Role | None:
    """The highest of the roles an identity provider's claims map to, or None."""
    return max(mapped) if mapped else None
