"""What telemetry costs, measured so that a noisy two-core machine cannot fake it: rounds
of remediator (SENTRY_DSN set, jobs traced at 1.0), the bare baseline (no telemetry) and the
baseline running sentry-sdk itself, interleaved A/B/C, each figure repeated; the ratios are
reported per round with their median and spread. Telemetry goes to `bench.sink` in its own
process (read, discard, count), whose CPU time is reported."""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import redis

from bench import loadgen
from bench.baseline import QUEUE, make_celery
from bench.measures import (
    SECRET,
    drain_rate,
    log,
    probe_baseline,
    probe_remediator,
    purge,
    wait_drained,
)
from bench.rig import Process, gunicorn, worker
from bench.sink import dsn
from remediator.local.embedded_redis import free_port

ARMS = ("remediator", "baseline", "baseline_sdk", "remediator_no_telemetry")
WEB_ARMS = (*ARMS, "remediator_web_traced")
"""Intake also measures remediator with its web requests traced at 1.0 too (by default they
are not: REMEDIATOR_SENTRY_WEB_TRACES_SAMPLE_RATE is 0)."""

PROBES = 100
"""Dispatch probes per round: the p99 is the 99th of them."""


def spread(values: list[float]) -> dict[str, Any]:
    """Median and range of a figure's repeats."""
    return {
        "values": [round(v, 3) for v in values],
        "median": round(statistics.median(values), 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
    }


def bare_drain_rate(env: dict[str, str], log_dir: Path, client: redis.Redis, n: int, name: str) -> float:
    """No-op tasks per second through a bare Celery worker (the baseline app)."""
    bare_app = make_celery()
    client.delete("bench:baseline:done")
    with bare_app.producer_or_acquire() as producer:
        for _ in range(n):
            bare_app.send_task("bench.noop", queue=QUEUE, priority=6, producer=producer)
    proc = worker(name, "bench.baseline", QUEUE, env, log_dir)
    try:
        wait_drained(client, f"{QUEUE}*")
        time.sleep(0.5)
    finally:
        proc.stop()
    stamps = sorted(float(x) for x in client.lrange("bench:baseline:done", 0, -1))
    return len(stamps) / (stamps[-1] - stamps[0]) if len(stamps) > 1 else float("nan")


def dispatch_rounds(
    envs: dict[str, dict[str, str]], log_dir: Path, client: redis.Redis, rounds: int
) -> dict[str, list[float]]:
    """Idle dispatch p99 (ms), interleaved: webhook -> script start through remediator with
    telemetry, apply_async -> task start through the bare baseline."""
    from remediator.jobs import JobStore

    p99: dict[str, list[float]] = {"remediator": [], "baseline": []}
    purge(client)
    store = JobStore(redis.Redis.from_url(envs["baseline"]["REMEDIATOR_BROKER_URL"], decode_responses=True))
    web, port = gunicorn("ab-dispatch-web", "remediator.web.app:create_app()", envs["remediator"], log_dir)
    ours = worker(
        "ab-dispatch-ours", "remediator.worker.celery_app", "remediator.nonprod", envs["remediator"], log_dir
    )
    bare = worker("ab-dispatch-bare", "bench.baseline", QUEUE, envs["baseline"], log_dir)
    try:
        # Warm both paths first (each gunicorn worker's and pool process's first job).
        probe_remediator(port, store, 20, 5_900_000)
        probe_baseline(client, 20)
        for round_ in range(rounds):
            lat = probe_remediator(port, store, PROBES, 6_000_000 + round_ * PROBES)
            p99["remediator"].append(round(1000 * loadgen.percentile(lat, 99), 2))
            lat = probe_baseline(client, PROBES)
            p99["baseline"].append(round(1000 * loadgen.percentile(lat, 99), 2))
            log(f"A/B dispatch round {round_ + 1}: p99 {p99['remediator'][-1]} vs {p99['baseline'][-1]} ms")
    finally:
        for proc in (web, ours, bare):
            proc.stop()
    return p99


def telemetry_ab(
    env: dict[str, str], log_dir: Path, client: redis.Redis, requests_n: int, jobs_n: int, rounds: int = 3
) -> dict[str, Any]:
    """Interleaved rounds of intake at saturation and no-op jobs/s for the three arms."""
    port = free_port()
    sink = Process("sink", [sys.executable, "-m", "bench.sink", str(port)], env, log_dir)
    time.sleep(0.5)
    traced = {**env, "SENTRY_DSN": dsn(port), "REMEDIATOR_SENTRY_TRACES_SAMPLE_RATE": "1.0"}
    bare = {k: v for k, v in env.items() if k != "SENTRY_DSN"}
    envs = {
        "remediator": traced,
        "baseline": bare,
        "baseline_sdk": {**traced, "BENCH_BASELINE_SDK": "1"},
        "remediator_web_traced": {**traced, "REMEDIATOR_SENTRY_WEB_TRACES_SAMPLE_RATE": "1.0"},
        "remediator_no_telemetry": bare,
    }
    apps = {
        "remediator": "remediator.web.app:create_app()",
        "baseline": "bench.baseline:create_app()",
        "baseline_sdk": "bench.baseline:create_app()",
        "remediator_web_traced": "remediator.web.app:create_app()",
        "remediator_no_telemetry": "remediator.web.app:create_app()",
    }
    intake: dict[str, list[float]] = {arm: [] for arm in WEB_ARMS}
    jobs: dict[str, list[float]] = {arm: [] for arm in ARMS}
    first = 9_000_000
    try:
        webs = {arm: gunicorn(f"ab-web-{arm}", apps[arm], envs[arm], log_dir) for arm in WEB_ARMS}
        try:
            for round_ in range(rounds):
                for arm in WEB_ARMS:
                    _, web_port = webs[arm]
                    loadgen.run(web_port, loadgen.signed_requests(SECRET, 200, first), max_seconds=20)
                    work = loadgen.signed_requests(SECRET, requests_n, first + 200)
                    first += 200 + requests_n
                    result = loadgen.run(web_port, work, max_seconds=60)
                    intake[arm].append(result["rps"])
                    log(f"A/B intake round {round_ + 1} {arm}: {result['rps']} req/s")
                purge(client)
        finally:
            for proc, _ in webs.values():
                proc.stop()
        for round_ in range(rounds):
            for arm in ARMS:
                purge(client)
                if arm.startswith("remediator"):
                    rate = drain_rate(envs[arm], log_dir, client, jobs_n)
                else:
                    rate = bare_drain_rate(envs[arm], log_dir, client, jobs_n, f"ab-worker-{arm}-{round_}")
                jobs[arm].append(rate)
                log(f"A/B jobs round {round_ + 1} {arm}: {rate:.1f} jobs/s")
        dispatch = dispatch_rounds(envs, log_dir, client, rounds)
        sink_cpu = sum(psutil.Process(sink.proc.pid).cpu_times()[:2])
    finally:
        sink.stop()
    out: dict[str, Any] = {"rounds": rounds, "requests": requests_n, "jobs": jobs_n}
    for name, figures in (("intake_rps", intake), ("jobs_per_s", jobs)):
        out[name] = {arm: spread(values) for arm, values in figures.items()}
        for arm in (a for a in figures if a != "baseline"):
            ratios = [a / b for a, b in zip(figures[arm], figures["baseline"], strict=True)]
            out[name][f"{arm}_over_baseline"] = spread(ratios)
    out["dispatch_idle_p99_ms"] = {arm: spread(values) for arm, values in dispatch.items()}
    ratios = [a / b for a, b in zip(dispatch["remediator"], dispatch["baseline"], strict=True)]
    out["dispatch_idle_p99_ms"]["remediator_over_baseline"] = spread(ratios)
    out["sink_cpu_s"] = round(sink_cpu, 2)
    log(f"telemetry A/B: {out}")
    return out
