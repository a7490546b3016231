"""Personal tokens: `rmd_<id>_<secret>`. The id finds the person's record without trying
every hash; the secret is kept only as an argon2id hash (argon2-cffi, RFC 9106's low-memory
parameters), checked by argon2's own constant-time comparison."""

from __future__ import annotations

import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

PREFIX = "rmd_"
_SHAPE = re.compile(r"^rmd_([a-z0-9]{12})_([A-Za-z0-9_-]{32,})$")

_hasher = PasswordHasher()


def new_token() -> tuple[str, str, str]:
    """A fresh token: (token id, the whole token to show once, its hash to keep)."""
    token_id = secrets.token_hex(6)
    token = f"{PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
    return token_id, token, _hasher.hash(token)


def token_id(token: str) -> str | None:
    """The id a token names, or None when it is not shaped like a personal token."""
    found = _SHAPE.match(token.strip())
    return found.group(1) if found else None


def matches(token: str, hashed: str) -> bool:
    """Whether `token` is the one `hashed` was made from."""
    try:
        return _hasher.verify(hashed, token.strip())
    except (VerificationError, InvalidHashError):
        return False
