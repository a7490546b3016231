"""The measures: each runs remediator and its baseline side by side and returns figures."""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

import psutil
import redis

from bench import loadgen
from bench.rig import gunicorn, worker
from remediator.intake.signature import sign

SECRET = "bench-secret"
"""The client secret the benchmark's web processes verify with."""


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        cpu = next(line.split(":", 1)[1].strip() for line in lines if line.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor()
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def purge(client: redis.Redis) -> None:
    keys = [
        k
        for pattern in ("remediator:*", "remediator.*", "bench*", "celery-task-meta-*")
        for k in client.scan_iter(pattern)
    ]
    for start in range(0, len(keys), 5000):
        client.delete(*keys[start : start + 5000])


def intake(env: dict[str, str], log_dir: Path, requests_n: int, seconds: float) -> dict[str, Any]:
    """Webhook intake under gunicorn: remediator vs a bare apply_async endpoint."""
    ours, ours_port = gunicorn("web", "remediator.web.app:create_app()", env, log_dir)
    base, base_port = gunicorn("baseline-web", "bench.baseline:create_app()", env, log_dir)
    sampled_env = {**env, "REMEDIATOR_SENTRY_WEB_TRACES_SAMPLE_RATE": "0.1"}
    sampled, sampled_port = gunicorn("web-sampled", "remediator.web.app:create_app()", sampled_env, log_dir)
    quiet_env = {k: v for k, v in env.items() if k != "SENTRY_DSN"}
    quiet, quiet_port = gunicorn("web-no-telemetry", "remediator.web.app:create_app()", quiet_env, log_dir)
    try:
        out: dict[str, Any] = {}
        first = 1_000_000
        for name, port in (
            ("remediator", ours_port),
            ("baseline", base_port),
            ("remediator_no_telemetry", quiet_port),
            ("remediator_web_sampled", sampled_port),
        ):
            loadgen.run(port, loadgen.signed_requests(SECRET, 300, first), max_seconds=20)
            first += 300
            work = loadgen.signed_requests(SECRET, requests_n, first)
            first += requests_n
            out[f"{name}_saturation"] = loadgen.run(port, work, max_seconds=seconds)
            log(f"intake saturation {name}: {out[f'{name}_saturation']}")
        rate = out["remediator_saturation"]["rps"] / 2
        for name, port in (("remediator", ours_port), ("baseline", base_port)):
            work = loadgen.signed_requests(SECRET, int(rate * 8), first)
            first += len(work)
            out[f"{name}_half_rate"] = loadgen.run(port, work, rate=rate, max_seconds=12)
            log(f"intake at {rate:.0f} req/s {name}: {out[f'{name}_half_rate']}")
        out["half_rate_rps"] = round(rate, 1)
        out["web_peak_rss_mb"] = round(ours.sample_rss() / 2**20, 1)
        out["baseline_web_peak_rss_mb"] = round(base.sample_rss() / 2**20, 1)
        return out
    finally:
        for proc in (ours, base, quiet, sampled):
            proc.stop()


def probe_remediator(port: int, store: Any, probes: int, first: int) -> list[float]:
    """Seconds from a class-A webhook's record to its script's start, one every 50 ms."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    ids = []
    for n in range(first, first + probes):
        issue = {**loadgen.PAYLOAD["data"]["issue"], "id": str(n), "culprit": "probe"}
        body = json.dumps({**loadgen.PAYLOAD, "data": {"issue": issue}}, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            "Sentry-Hook-Resource": "issue",
            "Sentry-Hook-Timestamp": str(int(time.time())),
            "Sentry-Hook-Signature": sign(SECRET, body),
        }
        conn.request("POST", "/sentry/webhook", body=body, headers=headers)
        answer = json.loads(conn.getresponse().read())
        ids.append(answer["jobs"][0]["id"])
        time.sleep(0.05)
    time.sleep(1.5)
    lat = []
    for job_id in ids:
        job = store.get(job_id)
        if job and job.started_at:
            lat.append(job.started_at - job.created_at)
    return sorted(lat)


def probe_baseline(client: redis.Redis, probes: int) -> list[float]:
    """Seconds from apply_async to the bare task's start, one every 50 ms."""
    from bench.baseline import QUEUE, noop

    client.delete("bench:baseline:latency")
    for _ in range(probes):
        noop.apply_async(kwargs={"sent_at": time.time()}, queue=QUEUE, priority=0)
        time.sleep(0.05)
    time.sleep(1.5)
    return sorted(float(x) for x in client.lrange("bench:baseline:latency", 0, -1))


def dispatch_latency(env: dict[str, str], log_dir: Path, client: redis.Redis, probes: int) -> dict[str, Any]:
    """Webhook received -> script starts (remediator) vs apply_async -> task starts (bare)."""
    from bench.baseline import QUEUE
    from remediator.jobs import JobStore

    store = JobStore(redis.Redis.from_url(env["REMEDIATOR_BROKER_URL"], decode_responses=True))
    web, port = gunicorn("web-latency", "remediator.web.app:create_app()", env, log_dir)
    ours = worker("nonprod", "remediator.worker.celery_app", "remediator.nonprod", env, log_dir)
    bare = worker("baseline", "bench.baseline", QUEUE, env, log_dir)
    out: dict[str, Any] = {}
    try:
        for label, lat in (
            ("remediator_idle", probe_remediator(port, store, probes, 2_000_000)),
            ("baseline_idle", probe_baseline(client, probes)),
        ):
            out[label] = {
                "n": len(lat),
                "p50_ms": round(1000 * loadgen.percentile(lat, 50), 2),
                "p99_ms": round(1000 * loadgen.percentile(lat, 99), 2),
            }
            log(f"dispatch latency {label}: {out[label]}")
        # under load: a stream of class-D webhooks at a moderate rate; probes are class A
        import threading

        work = loadgen.signed_requests(SECRET, 3000, 3_000_000)
        background = threading.Thread(
            target=loadgen.run,
            args=(port, work),
            kwargs={"rate": 150.0, "max_seconds": 15, "processes": 1, "threads": 4},
        )
        background.start()
        time.sleep(2)
        lat = probe_remediator(port, store, probes, 4_000_000)
        background.join()
        out["remediator_under_load"] = {
            "n": len(lat),
            "load_rps": 150,
            "p50_ms": round(1000 * loadgen.percentile(lat, 50), 2),
            "p99_ms": round(1000 * loadgen.percentile(lat, 99), 2),
        }
        log(f"dispatch latency under load: {out['remediator_under_load']}")
        out["worker_peak_rss_mb"] = round(ours.sample_rss() / 2**20, 1)
        return out
    finally:
        for proc in (web, ours, bare):
            proc.stop()


def wait_drained(client: redis.Redis, pattern: str, timeout: float = 600) -> None:
    """Wait until every list matching pattern (a queue's priority lists) is empty, then
    give the last jobs in flight two seconds to finish."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(client.llen(k) for k in client.scan_iter(pattern)):
        time.sleep(0.5)
    time.sleep(2)


def backlog(env: dict[str, str], log_dir: Path, client: redis.Redis, n: int) -> dict[str, Any]:
    """Priority under a backlog, and jobs/s through one tier's worker vs bare Celery."""
    from bench.baseline import QUEUE, make_celery
    from remediator.jobs import JobStatus
    from remediator.testing.factories import make_dispatcher, make_spec, make_subject

    url = env["REMEDIATOR_BROKER_URL"]
    purge(client)
    dispatcher = make_dispatcher(url)
    store = dispatcher.store
    started = time.monotonic()
    ids = []
    for i in range(n):
        spec = make_spec(rule="backlog", namespace="bench", priority_class="C", key=str(i))
        ids.append(dispatcher.submit(spec, make_subject(issue_id=str(i))).id)
    urgent = dispatcher.submit(
        make_spec(rule="urgent", namespace="bench", priority_class="A", key="u"), make_subject(issue_id="u")
    )
    log(f"queued {n} class-C jobs and 1 class-A job in {time.monotonic() - started:.1f}s")
    proc = worker("nonprod-backlog", "remediator.worker.celery_app", "remediator.nonprod", env, log_dir)
    try:
        wait_drained(client, "remediator.nonprod*")
        rss = proc.sample_rss()
    finally:
        proc.stop()
    jobs = [j for j in (store.get(job_id) for job_id in ids) if j is not None]
    done = [j for j in jobs if j.status == JobStatus.SUCCEEDED and j.started_at and j.finished_at]
    first_start = min(j.started_at for j in done if j.started_at)
    last_finish = max(j.finished_at for j in done if j.finished_at)
    urgent_job = store.get(urgent.id)
    assert urgent_job is not None and urgent_job.started_at is not None
    # the drain starts with the first job the worker took, whichever class it was
    first_start = min(first_start, urgent_job.started_at)
    drain = last_finish - first_start
    ours_rate = len(done) / drain
    out: dict[str, Any] = {
        "jobs": n,
        "completed": len(done),
        "drain_s": round(drain, 2),
        "class_a_start_after_s": round(urgent_job.started_at - first_start, 4),
        "class_a_start_fraction_of_drain": round((urgent_job.started_at - first_start) / drain, 5),
        "remediator_jobs_per_s": round(ours_rate, 1),
        "worker_peak_rss_mb": round(rss / 2**20, 1),
    }
    log(f"priority/backlog: {out}")
    out["remediator_no_telemetry_jobs_per_s"] = drain_rate(
        {k: v for k, v in env.items() if k != "SENTRY_DSN"}, log_dir, client, min(n, 3000)
    )
    log(f"no telemetry: {out['remediator_no_telemetry_jobs_per_s']} jobs/s")
    # bare Celery: the same number of no-op tasks through a worker with the same settings
    bare_app = make_celery()
    client.delete("bench:baseline:done")
    with bare_app.producer_or_acquire() as producer:
        for _ in range(n):
            bare_app.send_task("bench.noop", queue=QUEUE, priority=6, producer=producer)
    proc = worker("baseline-backlog", "bench.baseline", QUEUE, env, log_dir)
    try:
        wait_drained(client, f"{QUEUE}*")
    finally:
        proc.stop()
    stamps = sorted(float(x) for x in client.lrange("bench:baseline:done", 0, -1))
    bare_rate = len(stamps) / (stamps[-1] - stamps[0]) if len(stamps) > 1 else float("nan")
    out["baseline_tasks_per_s"] = round(bare_rate, 1)
    out["baseline_completed"] = len(stamps)
    log(f"bare celery: {bare_rate:.1f} tasks/s")
    return out


def drain_rate(env: dict[str, str], log_dir: Path, client: redis.Redis, n: int) -> float:
    """No-op jobs per second through one tier worker started on a ready backlog of n."""
    from remediator.testing.factories import make_dispatcher, make_spec, make_subject

    purge(client)
    dispatcher = make_dispatcher(env["REMEDIATOR_BROKER_URL"])
    store = dispatcher.store
    ids = [
        dispatcher.submit(make_spec(rule="drain", key=str(i)), make_subject(issue_id=f"d{i}")).id
        for i in range(n)
    ]
    proc = worker("nonprod-quiet", "remediator.worker.celery_app", "remediator.nonprod", env, log_dir)
    try:
        wait_drained(client, "remediator.nonprod*")
    finally:
        proc.stop()
    jobs = [j for j in (store.get(i) for i in ids) if j and j.started_at and j.finished_at]
    span = max(j.finished_at or 0 for j in jobs) - min(j.started_at or 0 for j in jobs)
    return round(len(jobs) / span, 1)


def scale_out(
    env: dict[str, str], log_dir: Path, client: redis.Redis, requests_n: int, jobs_n: int
) -> dict[str, Any]:
    """One web and one nonprod worker against two of each (distinct node names, as separate
    machines run them), one Redis, telemetry on: intake at saturation, then no-op jobs/s."""
    from remediator.testing.factories import make_dispatcher, make_spec, make_subject

    out: dict[str, Any] = {}
    webs = [gunicorn(f"web-{n}", "remediator.web.app:create_app()", env, log_dir) for n in ("a", "b")]
    try:
        ports = [port for _, port in webs]
        first = 5_000_000
        for label, targets in (("one_web", ports[:1]), ("two_webs", ports), ("one_web_again", ports[:1])):
            loadgen.run(targets, loadgen.signed_requests(SECRET, 300, first), max_seconds=20)
            first += 300
            work = loadgen.signed_requests(SECRET, requests_n, first)
            first += requests_n
            out[label] = loadgen.run(targets, work, processes=2 * len(targets), max_seconds=60)
            log(f"scale-out intake {label}: {out[label]}")
    finally:
        for proc, _ in webs:
            proc.stop()
    for count in (1, 2, 1):
        purge(client)
        dispatcher = make_dispatcher(env["REMEDIATOR_BROKER_URL"])
        workers = [
            worker(
                f"nonprod-scale-{count}-{i}",
                "remediator.worker.celery_app",
                "remediator.nonprod",
                env,
                log_dir,
            )
            for i in range(count)
        ]
        try:
            ids = [
                dispatcher.submit(
                    make_spec(rule="scale", key=f"{count}-{i}"), make_subject(issue_id=f"s{i}")
                ).id
                for i in range(jobs_n)
            ]
            wait_drained(client, "remediator.nonprod*")
            time.sleep(1)
        finally:
            for proc in workers:
                proc.stop()
        jobs = [j for j in (dispatcher.store.get(i) for i in ids) if j and j.started_at and j.finished_at]
        span = max(j.finished_at or 0 for j in jobs) - min(j.started_at or 0 for j in jobs)
        key = f"{count}_worker_jobs_per_s"
        out.setdefault(key, []).append(round(len(jobs) / span, 1))
        log(f"scale-out workers x{count}: {out[key][-1]} jobs/s ({len(jobs)} jobs)")
    return out


def rule_matching() -> dict[str, Any]:
    """Median time to plan one payload against 10 to 10,000 rules (in-process); each rule
    is a title `contains` and a culprit regex that miss, the last one matches."""
    from remediator.payloads import parse_webhook, subject_of
    from remediator.remediation_scripts import registry
    from remediator.rules import parse_rules, plan

    subject = subject_of("issue", parse_webhook("issue", loadgen.PAYLOAD))
    out: dict[str, Any] = {}
    for count in (10, 100, 1000, 10_000):
        rules = "rules:\n" + "".join(
            f"  - name: r{i}\n"
            f"    match: {{title: {{contains: 'nomatch-{i}'}}, culprit: {{regex: '^x{i}$'}}}}\n"
            f"    job: {{script: noop, tier: nonprod, class: D}}\n"
            for i in range(count - 1)
        )
        rules += (
            "  - name: last\n    match: {culprit: {contains: database}}\n"
            "    job: {script: noop, tier: nonprod, class: D}\n"
        )
        ruleset = parse_rules(rules, scripts=registry())
        assert [s.rule for s in plan(ruleset, subject)] == ["last"]
        times = []
        for _ in range(2000):
            t0 = time.perf_counter()
            plan(ruleset, subject)
            times.append(time.perf_counter() - t0)
        out[f"{count}_rules_median_ms"] = round(1000 * statistics.median(times), 4)
    log(f"rule matching: {out}")
    return out


def ceiling(port: int) -> dict[str, Any]:
    """Redis itself: LPUSH and RPOP per second (redis-benchmark when installed)."""
    exe = shutil.which("redis-benchmark")
    if exe:
        text = subprocess.run(
            [exe, "-p", str(port), "-t", "lpush,rpop", "-n", "100000", "-q"],
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
        found = dict(re.findall(r"(LPUSH|RPOP): ([\d.]+) requests per second", text))
        return {
            "tool": "redis-benchmark (50 clients, no pipelining)",
            "lpush_per_s": float(found.get("LPUSH", "nan")),
            "rpop_per_s": float(found.get("RPOP", "nan")),
        }
    client = redis.Redis(port=port)
    t0 = time.perf_counter()
    for _ in range(100):
        with client.pipeline(transaction=False) as pipe:
            for _ in range(1000):
                pipe.lpush("bench:ceiling", b"x")
            pipe.execute()
    return {"tool": "redis-py pipelines of 1000", "lpush_per_s": round(100000 / (time.perf_counter() - t0))}
