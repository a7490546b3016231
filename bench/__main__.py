"""`python -m bench`: run every benchmark against its baseline and print one table."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

import redis

from bench.listing import listing
from bench.measures import (
    SECRET,
    backlog,
    ceiling,
    dispatch_latency,
    intake,
    log,
    machine,
    purge,
    rule_matching,
    scale_out,
)
from bench.redis_cost import redis_cost
from bench.rig import BENCH_RULES
from bench.sink import dsn
from bench.soak import parse_duration, soak
from bench.telemetry import telemetry_ab
from remediator.local.embedded_redis import EmbeddedRedis, free_port

RESULTS = Path(__file__).parent / "results.json"

MEASURES = ("ceiling", "intake", "dispatch", "backlog", "rules", "listing", "scale", "telemetry", "cost")
"""Every measure, in the order they run."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000, help="requests per saturation run")
    parser.add_argument("--backlog", type=int, default=10000, help="class-C jobs in the backlog")
    parser.add_argument("--probes", type=int, default=60, help="dispatch latency probes")
    parser.add_argument("--records", type=int, default=100_000, help="job records for the listing")
    parser.add_argument("--scale-jobs", type=int, default=2000, help="no-op jobs per scale-out worker run")
    parser.add_argument(
        "--cost-webhooks", type=int, default=1000, help="webhooks per phase of the Redis cost measure"
    )
    parser.add_argument(
        "--only",
        default=",".join(MEASURES),
        help=f"comma-separated subset of: {', '.join(MEASURES)} (the table shows what ran)",
    )
    parser.add_argument("--soak", metavar="DURATION", help="instead: the soak run, e.g. 30m (not part of CI)")
    parser.add_argument("--soak-rate", type=float, default=20.0, help="webhooks per second during the soak")
    args = parser.parse_args()
    if args.soak:
        run_soak(parse_duration(args.soak), args.soak_rate)
        return
    only = {m.strip() for m in args.only.split(",") if m.strip()}
    unknown = only - set(MEASURES)
    if unknown:
        parser.error(f"unknown measure(s) {', '.join(sorted(unknown))}; known: {', '.join(MEASURES)}")

    work = Path(tempfile.mkdtemp(prefix="remediator-bench-"))
    log_dir = work / "logs"
    log_dir.mkdir()
    rules = work / "rules.yaml"
    rules.write_text(BENCH_RULES)
    broker = EmbeddedRedis(work / "redis").start()
    # Telemetry goes to the least a receiver can do, in its own process (bench.sink).
    sink_port = free_port()
    sink = subprocess.Popen([sys.executable, "-m", "bench.sink", str(sink_port)], start_new_session=True)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("REMEDIATOR_", "SENTRY_"))},
        "REMEDIATOR_BROKER_URL": broker.url,
        "REMEDIATOR_DATA_DIR": str(work / "var"),
        "REMEDIATOR_RULES_FILE": str(rules),
        "REMEDIATOR_SENTRY_CLIENT_SECRET": SECRET,
        "REMEDIATOR_API_TOKEN": "bench-token",
        "SENTRY_DSN": dsn(sink_port),
        "REMEDIATOR_TIER_MAX_RUNS": "prod=100000000/1h,nonprod=100000000/1h",
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
    }
    os.environ.update(env)
    client = redis.Redis.from_url(broker.url)
    log(f"machine: {machine()}; logs in {log_dir}")
    results: dict[str, Any] = {"machine": machine(), "settings": vars(args)}
    try:
        if "ceiling" in only:
            results["ceiling"] = ceiling(broker.port)
            log(f"ceiling: {results['ceiling']}")
        if "intake" in only:
            purge(client)
            results["intake"] = intake(env, log_dir, args.requests, 60)
        if "dispatch" in only:
            purge(client)
            results["dispatch"] = dispatch_latency(env, log_dir, client, args.probes)
        if "backlog" in only:
            purge(client)
            results["backlog"] = backlog(env, log_dir, client, args.backlog)
        if "rules" in only:
            results["rules"] = rule_matching()
        if "scale" in only:
            purge(client)
            results["scale"] = scale_out(env, log_dir, client, args.requests, args.scale_jobs)
            results["scale"]["date"] = machine()["date"]
        if "telemetry" in only:
            purge(client)
            results["telemetry"] = telemetry_ab(env, log_dir, client, args.requests, args.scale_jobs)
            results["telemetry"]["date"] = machine()["date"]
        if "cost" in only:
            limit = results.get("ceiling") or ceiling(broker.port)
            results["cost"] = redis_cost(env, log_dir, client, args.cost_webhooks, limit)
            results["cost"]["date"] = machine()["date"]
        if "listing" in only:
            purge(client)
            results["listing"] = listing(env, log_dir, args.records)
            results["listing"]["date"] = machine()["date"]
            log(f"listing: {results['listing']}")
        with urllib.request.urlopen(f"http://127.0.0.1:{sink_port}/count", timeout=5) as answer:
            results["telemetry_envelopes"] = int(answer.read())
    finally:
        sink.terminate()
        sink.wait(10)
        broker.stop()
    if only != set(MEASURES) and RESULTS.exists():
        # A partial run updates its own figures and keeps the rest (each keeps its date).
        previous = json.loads(RESULTS.read_text())
        results = {**previous, **{k: v for k, v in results.items() if k != "settings"}}
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))


def run_soak(seconds: float, rate: float) -> None:
    """The soak, its figures kept in results.json beside the others."""
    figures = soak(seconds, rate)
    figures["date"] = machine()["date"]
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {"machine": machine()}
    results["soak"] = figures
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


def table(r: dict[str, Any]) -> str:
    i, d, b, m = r["intake"], r["dispatch"], r["backlog"], r["rules"]
    ratio = lambda a, c: f"{a / c:.2f}" if c else "-"  # noqa: E731
    rows = [
        (
            "Intake throughput (req/s, saturation)",
            i["remediator_saturation"]["rps"],
            i["baseline_saturation"]["rps"],
            ratio(i["remediator_saturation"]["rps"], i["baseline_saturation"]["rps"]),
            ">= 0.8",
        ),
        (
            "  same, remediator without SENTRY_DSN (no tracing)",
            i["remediator_no_telemetry_saturation"]["rps"],
            i["baseline_saturation"]["rps"],
            ratio(i["remediator_no_telemetry_saturation"]["rps"], i["baseline_saturation"]["rps"]),
            "-",
        ),
        (
            "  same, web requests traced at 0.1 (jobs still at 1.0)",
            i["remediator_web_sampled_saturation"]["rps"],
            i["baseline_saturation"]["rps"],
            ratio(i["remediator_web_sampled_saturation"]["rps"], i["baseline_saturation"]["rps"]),
            "-",
        ),
        (
            f"Intake p50 / p99 at {i['half_rate_rps']:.0f} req/s (ms)",
            f"{i['remediator_half_rate']['p50_ms']} / {i['remediator_half_rate']['p99_ms']}",
            f"{i['baseline_half_rate']['p50_ms']} / {i['baseline_half_rate']['p99_ms']}",
            ratio(i["remediator_half_rate"]["p99_ms"], i["baseline_half_rate"]["p99_ms"]),
            "p99 <= 25 ms",
        ),
        (
            "Dispatch p50 / p99, idle (ms)",
            f"{d['remediator_idle']['p50_ms']} / {d['remediator_idle']['p99_ms']}",
            f"{d['baseline_idle']['p50_ms']} / {d['baseline_idle']['p99_ms']}",
            ratio(d["remediator_idle"]["p99_ms"], d["baseline_idle"]["p99_ms"]),
            "p99 < 50 ms",
        ),
        (
            f"Dispatch p50 / p99, class A under {d['remediator_under_load']['load_rps']} req/s "
            "of class D (ms)",
            f"{d['remediator_under_load']['p50_ms']} / {d['remediator_under_load']['p99_ms']}",
            "-",
            "-",
            "-",
        ),
        (
            f"Class A start after {b['jobs']} class-C jobs (s) / drain (s)",
            f"{b['class_a_start_after_s']} / {b['drain_s']}",
            f"FIFO: {b['drain_s']}",
            f"{b['class_a_start_fraction_of_drain']:.4f}",
            "< 0.01 and < 0.5 s",
        ),
        (
            "No-op jobs/s through one tier worker (c=2)",
            b["remediator_jobs_per_s"],
            b["baseline_tasks_per_s"],
            ratio(b["remediator_jobs_per_s"], b["baseline_tasks_per_s"]),
            ">= 0.7",
        ),
        (
            "  same, remediator worker without SENTRY_DSN",
            b["remediator_no_telemetry_jobs_per_s"],
            b["baseline_tasks_per_s"],
            ratio(b["remediator_no_telemetry_jobs_per_s"], b["baseline_tasks_per_s"]),
            "-",
        ),
        (
            "Rule matching median, 10 / 100 / 1,000 / 10,000 rules (ms)",
            f"{m['10_rules_median_ms']} / {m['100_rules_median_ms']} / {m['1000_rules_median_ms']}"
            f" / {m.get('10000_rules_median_ms', '-')}",
            "-",
            "-",
            "< 0.05 ms at 1,000",
        ),
        (
            "Peak RSS web process / worker process (MB)",
            f"{i['web_peak_rss_mb']} / {b['worker_peak_rss_mb']}",
            f"{i['baseline_web_peak_rss_mb']} / -",
            "-",
            "-",
        ),
        (
            "Redis ceiling LPUSH / RPOP per s",
            f"{r['ceiling'].get('lpush_per_s')} / {r['ceiling'].get('rpop_per_s', '-')}",
            "-",
            "-",
            "-",
        ),
    ]
    if "listing" in r:
        li = r["listing"]
        first, fifth, mixed = li["failed_first_page"], li["failed_fifth_page"], li["three_filters"]
        rows.append(
            (
                f"GET /api/jobs?status=failed&limit=50 with {li['records']:,} records, p50 / p99 (ms): "
                "first page / fifth page (cursor) / status+tier+rule",
                f"{first['p50_ms']} / {first['p99_ms']}; {fifth['p50_ms']} / {fifth['p99_ms']}; "
                f"{mixed['p50_ms']} / {mixed['p99_ms']}",
                "-",
                "-",
                "< 20 ms",
            )
        )
        if "dashboard" in li:
            pages = li["dashboard"]
            rows.append(
                (
                    f"Dashboard pages with {li['records']:,} records, p50 / p99 (ms): " + ", ".join(pages),
                    "; ".join(f"{p['p50_ms']} / {p['p99_ms']}" for p in pages.values()),
                    "-",
                    "-",
                    "< 200 ms",
                )
            )
    if "scale" in r:
        sc = r["scale"]
        one, two = sc["one_web"]["rps"], sc["two_webs"]["rps"]
        rows.append(
            (
                "Scale-out intake (req/s, saturation, telemetry on): two web processes vs one "
                f"(one again after: {sc['one_web_again']['rps']})",
                two,
                one,
                ratio(two, one),
                "-",
            )
        )
        w1, w2 = sc["1_worker_jobs_per_s"], sc["2_worker_jobs_per_s"]
        rows.append(
            (
                "Scale-out no-op jobs/s (telemetry on): two nonprod workers vs one (one before and after)",
                w2[0],
                " / ".join(str(x) for x in w1),
                ratio(w2[0], statistics.median(w1)),
                "-",
            )
        )
    if "telemetry" in r:
        t = r["telemetry"]
        arms = (
            (
                "remediator",
                "remediator traced at 1.0 vs bare baseline (median [min-max] of the per-round ratio)",
            ),
            ("remediator_web_traced", "  same, remediator with its web requests traced at 1.0 too"),
            ("remediator_no_telemetry", "  same, remediator without SENTRY_DSN: remediator's own work"),
            (
                "baseline_sdk",
                "  same, the baseline running sentry-sdk (Flask + Celery, 1.0) vs bare: the SDK alone",
            ),
        )
        for label, key, goal in (
            ("intake req/s at saturation", "intake_rps", ">= 1.0, none < 0.8"),
            ("no-op jobs/s through one worker", "jobs_per_s", ">= 0.9"),
        ):
            f = t[key]
            for arm, text in arms:
                if arm not in f:
                    continue
                q = f[f"{arm}_over_baseline"]
                lead = (
                    f"Telemetry A/B/C, {t['rounds']} interleaved rounds, {label}: "
                    if arm == "remediator"
                    else ""
                )
                rows.append(
                    (
                        lead + text,
                        " / ".join(str(v) for v in f[arm]["values"]),
                        " / ".join(str(v) for v in f["baseline"]["values"]),
                        f"{q['median']} [{q['min']}-{q['max']}]",
                        goal if arm == "remediator" else "-",
                    )
                )
    if "telemetry" in r and "dispatch_idle_p99_ms" in r["telemetry"]:
        d = r["telemetry"]["dispatch_idle_p99_ms"]
        q = d["remediator_over_baseline"]
        rows.append(
            (
                f"Telemetry A/B, idle dispatch p99 (ms), {r['telemetry']['rounds']} interleaved rounds of "
                "100 probes: webhook -> script start, traced, vs apply_async -> task start, bare",
                " / ".join(str(v) for v in d["remediator"]["values"]),
                " / ".join(str(v) for v in d["baseline"]["values"]),
                f"{q['median']} [{q['min']}-{q['max']}]",
                "<= 1.0",
            )
        )
    if "cost" in r:
        c = r["cost"]
        per = (("accepted webhook", "per_webhook", "webhooks"), ("job run", "per_job", "jobs"))
        for what, key, ceil in per:
            cost = c[key]
            limit = c[f"ceiling_{ceil}_per_s"]
            rows.append(
                (
                    f"Redis per {what}: commands / read events / Redis CPU (µs); one Redis's ceiling "
                    f"({ceil}/s, by CPU / by read events)",
                    f"{cost['commands']} / {cost['read_events']} / {cost['redis_cpu_us']}; "
                    f"{limit['by_cpu']:,} / {limit['by_read_events']:,}",
                    "-",
                    "-",
                    "-",
                )
            )
    lines = ["| measure | remediator | baseline | ratio | goal |", "|---|---|---|---|---|"]
    lines += [f"| {a} | {b_} | {c} | {e} | {g} |" for a, b_, c, e, g in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
