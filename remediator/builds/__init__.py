"""Builds that report themselves: run a build or test command, parse what failed, and send
one Sentry error event per failed build (`remediator report-build`)."""
