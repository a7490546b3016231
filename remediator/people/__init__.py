"""People and what they may do: roles (pure), personal tokens kept as argon2 hashes, the
directory of people in Redis, server-side sign-in sessions and the failed-sign-in throttle."""
