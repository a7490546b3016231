"""The broker's visibility timeout, checked against the longest job and verification wait."""

from __future__ import annotations

from remediator import defaults
from remediator.errors import ConfigurationError
from remediator.remediation_scripts import longest_time_limit
from remediator.settings import Settings

MIN_DEFAULT_VISIBILITY = 3600.0
"""The default visibility timeout is at least an hour."""


def visibility_timeout(settings: Settings) -> float:
    """Seconds before a message taken by a worker that vanished is handed out again: the
    setting, or max(1 h, twice the longest script limit). A setting at or below the longest
    script limit or the longest verify_after is refused: such a job (or check) would be
    handed to a second worker while the first still runs it."""
    longest_job = longest_time_limit()
    if settings.visibility_timeout is None:
        return max(MIN_DEFAULT_VISIBILITY, 2 * longest_job, defaults.MAX_VERIFY_AFTER_SECONDS + 600)
    needed = max(longest_job, defaults.MAX_VERIFY_AFTER_SECONDS)
    if settings.visibility_timeout <= needed and not settings.allow_short_visibility_timeout:
        raise ConfigurationError(
            f"REMEDIATOR_VISIBILITY_TIMEOUT={settings.visibility_timeout:g} is too short: it must exceed "
            f"the longest script time limit ({longest_job}s) and the longest verify_after "
            f"({defaults.MAX_VERIFY_AFTER_SECONDS:g}s), or a running job or a scheduled "
            f"verification would be handed out twice. Set it above {needed:g}, or leave it unset "
            "for the default."
        )
    return settings.visibility_timeout
