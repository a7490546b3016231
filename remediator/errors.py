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


class ScriptError(RemediatorError):
    """A remediation script failed; the message says which step and why."""


class JobFailed(ScriptError):
    """Raised out of the Celery task after a failure is recorded, so Celery shows FAILURE
    (an expected failure: logged without a traceback)."""


class AnalyzerUnavailable(JobFailed):
    """The analyzer's endpoint did not answer (refused, timed out, an HTTP error): nothing
    was analysed, and nothing can be said of the model."""


class NoValidAnswer(JobFailed):
    """The model answered, but never with an analysis that validates: the tokens it took are
    spent all the same (counted against the day's budget and the rule's spend)."""

    def __init__(self, message: str, model: str, prompt_tokens: int, completion_tokens: int) -> None:
        super().__init__(message)
        self.model = model
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens


class ScriptNotConfigured(ScriptError):
    """A placeholder script was asked to run; it refuses rather than pretend to succeed."""


class BrokerUnavailable(RemediatorError):
    """The broker could not be reached to submit a job."""


class JobStateError(RemediatorError):
    """An operator action does not fit the job's status (approving a job that ran, say)."""


class JobNotFound(RemediatorError):
    """No record of that job (never submitted, or expired)."""


class RuleNotFound(RemediatorError):
    """No rule of that name in the loaded rule file."""


class RuleStateError(RemediatorError):
    """An operator action does not fit the rule (promoting a rule that is no canary)."""


class UnknownScript(RemediatorError):
    """A rule or job names a script nobody registered; the message lists the known ones."""


class TransitionNotAllowed(JobStateError):
    """A status change the lifecycle's table does not have (a bug, or a stale decision)."""


class NeedsAttention(ScriptError):
    """A script stopped short of an outcome a person must look at (the job ends
    `needs_attention` with this reason, neither succeeded nor failed)."""


class JobSkipped(ScriptError):
    """A script found nothing worth doing before doing anything (an analysis below its
    rule's gate, a spent token budget): the job ends `skipped` with this reason."""


class ListenerFailed(RemediatorError):
    """A listener could not do its part; `retry` says whether another attempt may pass."""

    def __init__(self, message: str, retry: bool = True) -> None:
        super().__init__(message)
        self.retry = retry


class NotificationFailed(RemediatorError):
    """A channel did not take a message. `retry`: another attempt may pass (timeouts,
    429, 5xx); `retry_after`: the seconds the service asked to wait, when it said."""

    def __init__(self, message: str, retry: bool = True, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry = retry
        self.retry_after = retry_after
