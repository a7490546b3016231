"""The counters and histograms every process updates (files per process in multiprocess mode)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

WEBHOOKS = Counter(
    "remediator_webhooks_total",
    "Webhooks received, by Sentry resource and what became of them.",
    ["resource", "outcome"],
)

JOBS = Counter(
    "remediator_jobs_total",
    "Job lifecycle events, by the status each left the job in (decisions not to run included).",
    ["rule", "script", "tier", "status"],
)

JOB_DURATION = Histogram(
    "remediator_job_duration_seconds",
    "How long a job's script ran (start to outcome).",
    ["script", "tier"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600),
)

JOB_WAIT = Histogram(
    "remediator_job_wait_seconds",
    "How long a job waited from submission to its first start.",
    ["tier", "priority_class"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
)

ANALYSIS_TOKENS = Counter(
    "remediator_analysis_tokens",
    "Tokens the llm analyses spent, by model and kind (prompt or completion).",
    ["model", "kind"],
)

ANALYSIS_COST = Counter(
    "remediator_analysis_cost",
    "What the llm analyses cost at REMEDIATOR_LLM_PRICE_PER_1K_TOKENS, by model.",
    ["model"],
)

NOTIFICATIONS = Counter(
    "remediator_notifications_total",
    "Notification attempts, by channel and outcome (sent, retried, failed, held for a digest).",
    ["channel", "outcome"],
)
