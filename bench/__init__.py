"""Benchmarks: remediator against its baselines, measured side by side in one run.

`python -m bench` starts everything it needs on loopback (embedded Redis, gunicorn, Celery
workers), drives load from separate processes with bounded counts and times, and prints
one table plus bench/results.json. Benchmarks report; they assert nothing.
"""
