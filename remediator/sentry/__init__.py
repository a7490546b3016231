"""Talking to Sentry: the REST client, comment texts, and remediator's own telemetry."""
