"""The exceptions remediator raises on purpose."""

from __future__ import annotations


class RemediatorError(Exception):
    """Root of every error remediator raises on purpose."""


class ConfigurationError(RemediatorError):
    """A setting is missing or invalid; the message names the variable and the fix."""


class RuleError(RemediatorError):
    """The rule file is invalid; the message names the rule and the field."""


class PayloadError(RemediatorError):
    """A webhook body does not fit the model of its resource."""


class SignatureError(RemediatorError):
    """A webhook's signature is missing or does not match its body."""


class ScriptError(RemediatorError):
    """A remediation script failed; the message says which step and why."""


class ScriptNotConfigured(ScriptError):
    """A placeholder script was asked to run; it refuses rather than pretend to succeed."""


class BrokerUnavailable(RemediatorError):
    """The broker could not be reached to submit a job."""


class JobStateError(RemediatorError):
    """An operator action does not fit the job's status (approving a job that ran, say)."""
