"""Prometheus metrics: counters and histograms fed by the lifecycle, gauges read from Redis
at scrape time, exposed at /metrics (multiprocess-correct when PROMETHEUS_MULTIPROC_DIR is
set, as `remediator up` does)."""
