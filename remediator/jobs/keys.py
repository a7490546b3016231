"""The Redis key layout of the job store, in one place (every key starts with KEY_PREFIX)."""

from __future__ import annotations

from remediator.defaults import KEY_PREFIX


def job_key(job_id: str) -> str:
    """The job's record: one hash field per attribute, JSON-encoded."""
    return f"{KEY_PREFIX}job:{job_id}"


def notes_key(job_id: str) -> str:
    """The job's notes: a list of JSON documents, oldest first."""
    return f"{KEY_PREFIX}job:{job_id}:notes"


def timeline_key(job_id: str) -> str:
    """The job's timeline: a list of its lifecycle events (JSON: event, at, actor), oldest first."""
    return f"{KEY_PREFIX}job:{job_id}:timeline"


def issue_key(issue_id: str) -> str:
    """The ids of the jobs submitted for a Sentry issue (a set)."""
    return f"{KEY_PREFIX}issue:{issue_id}:jobs"


def issue_record_key(issue_id: str) -> str:
    """What the webhooks said of a Sentry issue last (a hash; see remediator.issue_log)."""
    return f"{KEY_PREFIX}issue:{issue_id}"


def issue_webhooks_key(issue_id: str) -> str:
    """The webhooks that spoke of an issue, oldest first (a capped list of JSON)."""
    return f"{KEY_PREFIX}issue:{issue_id}:webhooks"


ISSUES_KEY = f"{KEY_PREFIX}issues"
"""Sorted set of the issues seen, by their last webhook's time, open ones first (their score
is raised by remediator.issue_log.store.OPEN_BOOST)."""


def stats_key(rule: str) -> str:
    """A rule's outcome counts (a hash: succeeded, failed, verified, ineffective), and what
    its analyses spent (SPENT_TOKENS, SPENT_COST)."""
    return f"{KEY_PREFIX}rule-stats:{rule}"


SPENT_TOKENS, SPENT_COST = "analysis_tokens", "analysis_cost"
"""The fields of a rule's stats hash that count its analyses' tokens and cost."""


INDEX_KEY = f"{KEY_PREFIX}jobs"
"""Sorted set of job ids by creation time, newest last."""


def status_index(status: str) -> str:
    """Sorted set of the ids of jobs in a status, by creation time."""
    return f"{KEY_PREFIX}idx:status:{status}"


def tier_index(tier: str) -> str:
    """Sorted set of the ids of a tier's jobs, by creation time."""
    return f"{KEY_PREFIX}idx:tier:{tier}"


def rule_index(rule: str) -> str:
    """Sorted set of the ids of a rule's jobs, by creation time."""
    return f"{KEY_PREFIX}idx:rule:{rule}"


AWAITING_KEY = f"{KEY_PREFIX}awaiting-approval"
"""Sorted set of jobs waiting for approval, by submission time."""

EVENTS_SEQ_KEY = f"{KEY_PREFIX}events:seq"
"""How many job events the store has recorded (a counter): the dashboard polls it to
learn, in one read, whether anything changed since it last drew a page."""

PAUSED_KEY = f"{KEY_PREFIX}paused"
"""Set (to its reason) while remediation is paused: matches are held."""

RECONCILE_LOCK_KEY = f"{KEY_PREFIX}reconcile-lock"
"""Held while one worker reconciles queued records with the broker (one at a time)."""

SWITCH_LOG_KEY = f"{KEY_PREFIX}pause-log"
"""The latest pauses and resumes, newest first (a capped list of JSON: action, by, reason, at)."""


def active_key(rule: str, key: str) -> str:
    """Holds the id of the rule's job for this key while it is pending or running."""
    return f"{KEY_PREFIX}active:{rule}:{key}"


def breaker_key(rule: str) -> str:
    """The rule's circuit breaker: consecutive bad outcomes and, when open, why."""
    return f"{KEY_PREFIX}breaker:{rule}"


def dedup_key(rule: str, content: str) -> str:
    """Set while a delivery of this content was handled by the rule within its window."""
    return f"{KEY_PREFIX}dedup:{rule}:{content}"


def once_key(rule: str, key: str) -> str:
    """Set while the rule's once_within window for this key runs."""
    return f"{KEY_PREFIX}once:{rule}:{key}"


def rule_runs_key(rule: str) -> str:
    """The rule's recent runs (a sorted set by time), for max_runs."""
    return f"{KEY_PREFIX}runs:rule:{rule}"


def tier_runs_key(tier: str) -> str:
    """The tier's recent runs (a sorted set by time), for the tier cap."""
    return f"{KEY_PREFIX}runs:tier:{tier}"


def heartbeat_key(tier: str) -> str:
    """A tier's latest heartbeat (JSON)."""
    return f"{KEY_PREFIX}heartbeat:{tier}"


def consumers_key(tier: str) -> str:
    """The workers consuming a tier's queue (a sorted set: hostname by last sign of life)."""
    return f"{KEY_PREFIX}consumers:{tier}"


def scratch_key(name: str) -> str:
    """A key a reader computes into and deletes in the same transaction."""
    return f"{KEY_PREFIX}scratch:{name}"


def analysed_key(issue_id: str) -> str:
    """When the issue was last analysed and commented (an analysis gate's `reanalyze_after`)."""
    return f"{KEY_PREFIX}analysed:{issue_id}"


def analysis_tokens_key(day: str) -> str:
    """Tokens the analyses spent on one UTC day (`YYYY-MM-DD`), all processes together."""
    return f"{KEY_PREFIX}analysis-tokens:{day}"


def memory_key(project: str) -> str:
    """The analysed issues of a project whose fixes were verified or found ineffective."""
    return f"{KEY_PREFIX}memory:{project}"


def rollout_key(rule: str, rule_hash: str) -> str:
    """A canary rule's rollout (a hash: stage, count), by its name and what it does."""
    return f"{KEY_PREFIX}rollout:{rule}:{rule_hash}"


def rollout_log_key(rule: str, rule_hash: str) -> str:
    """What moved a rule's rollout, newest first (a capped list of JSON: at, what, job, by)."""
    return f"{KEY_PREFIX}rollout:{rule}:{rule_hash}:log"


SUGGESTIONS_KEY = f"{KEY_PREFIX}suggestions"
"""The last `rules suggest` run's proposals (JSON: at, window, suggestions), for the console."""


def settle_key(rule: str) -> str:
    """What `settle: auto` learned for a rule (JSON: seconds, why, at)."""
    return f"{KEY_PREFIX}settle:{rule}"


def trend_key(hour: int) -> str:
    """The trends' bucket of one UTC hour (a hash of counters; see remediator.trends)."""
    return f"{KEY_PREFIX}trend:{hour}"


TREND_RETENTION = 35 * 86400
"""How long an hourly trend bucket is kept after its hour began."""


def hour_of(at: float) -> int:
    """The start of the UTC hour `at` falls in (a trend bucket's name)."""
    return int(at // 3600) * 3600


def seer_run_key(run_id: str) -> str:
    """The job a Seer Autofix run belongs to (its id)."""
    return f"{KEY_PREFIX}seer:run:{run_id}"


def seer_stages_key(job_id: str) -> str:
    """The Seer stages that arrived for a job and its script has not read yet (a list)."""
    return f"{KEY_PREFIX}seer:stages:{job_id}"


def notify_window_key(route: int, scope: str) -> str:
    """Set while a route's digest window for a rule (or tier) is open: one message went out."""
    return f"{KEY_PREFIX}notify:window:{route}:{scope}"


def notify_held_key(route: int, scope: str) -> str:
    """What a route held back during its open window (a list of JSON), sent as one digest."""
    return f"{KEY_PREFIX}notify:held:{route}:{scope}"


def pagerduty_open_key(channel: str) -> str:
    """The dedup keys a PagerDuty channel triggered and has not resolved yet (a set)."""
    return f"{KEY_PREFIX}notify:pagerduty-open:{channel}"
