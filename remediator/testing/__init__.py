"""Fakes that behave like the real thing over the real protocol, factories and a recording
listener, for tests, demos and the bench."""

from remediator.testing.llm_standin import LlmStandIn
from remediator.testing.notify_standin import NotifyStandIn
from remediator.testing.recorder import RecordingListener
from remediator.testing.sentry_standin import SentryStandIn

__all__ = ["LlmStandIn", "NotifyStandIn", "RecordingListener", "SentryStandIn"]
