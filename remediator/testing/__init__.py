"""Fakes that behave like the real thing over the real protocol, for tests and demos."""

from remediator.testing.sentry_standin import SentryStandIn

__all__ = ["SentryStandIn"]
