"""What one accepted webhook and one job run cost Redis: commands (INFO commandstats), read
events (INFO stats `total_reads_processed`: at least one per request or pipeline a client
sends, more when a large one arrives in pieces) and Redis CPU time (INFO cpu), each before
and after, less what the same processes cost while idle over as long. From them, and
redis-benchmark's ceiling, the ceiling of one Redis in webhooks/s and jobs/s
(docs/capacity.md).

Phase A runs web and worker: each webhook's record and job, run to the end. Phase B stops
the worker: webhooks alone. A job's cost is A less B."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import redis

from bench import loadgen
from bench.measures import SECRET, log, purge
from bench.rig import gunicorn, worker

IDLE_SECONDS = 5.0
"""How long the idle cost is sampled (each phase's figures lose the idle rate times their
duration)."""


def counters(client: redis.Redis) -> dict[str, float]:
    """Commands, read events and CPU seconds Redis has processed so far, excluding the INFO
    commands this function sends (3 commands and 3 reads per call, subtracted by `spent`)."""
    commands = client.info("commandstats")
    stats = client.info("stats")
    cpu = client.info("cpu")
    return {
        **{f"usec:{k[8:]}": float(v["usec"]) for k, v in commands.items() if k != "cmdstat_info"},
        **{f"calls:{k[8:]}": float(v["calls"]) for k, v in commands.items() if k != "cmdstat_info"},
        "commands": sum(v["calls"] for k, v in commands.items() if k != "cmdstat_info"),
        "reads": float(stats["total_reads_processed"]),
        "cpu_s": float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"]),
        "at": time.monotonic(),
    }


def spent(before: dict[str, float], after: dict[str, float], own_reads: int = 3) -> dict[str, float]:
    """What Redis did between two readings (less the reads of the INFO calls themselves),
    with each command's calls and time (`calls:NAME`, `usec:NAME`)."""
    per_command = {k: after[k] - before.get(k, 0.0) for k in after if k.startswith(("usec:", "calls:"))}
    return {
        **per_command,
        "commands": after["commands"] - before["commands"],
        "reads": after["reads"] - before["reads"] - own_reads,
        "cpu_s": after["cpu_s"] - before["cpu_s"],
        "seconds": after["at"] - before["at"],
    }


def idle_rate(client: redis.Redis) -> dict[str, float]:
    """Per second, what the running processes cost Redis doing nothing."""
    before = counters(client)
    time.sleep(IDLE_SECONDS)
    used = spent(before, counters(client))
    return {k: used[k] / used["seconds"] for k in ("commands", "reads", "cpu_s")}


def less_idle(used: dict[str, float], idle: dict[str, float], n: int) -> dict[str, float]:
    """Per item: a phase's cost less the idle rate over its duration, divided by n (the
    per-command figures are not corrected for idle: they say where the time went)."""
    out = {k: (used[k] - idle[k] * used["seconds"]) / n for k in ("commands", "reads", "cpu_s")}
    out.update({k: v / n for k, v in used.items() if k.startswith(("usec:", "calls:"))})
    return out


def by_command(cost: dict[str, float]) -> dict[str, dict[str, float]]:
    """Each command's calls and Redis time (µs) per item, the costliest first."""
    names = sorted(
        (k[5:] for k in cost if k.startswith("usec:") and cost[k] > 0), key=lambda n: -cost[f"usec:{n}"]
    )
    return {
        n: {"calls": round(cost.get(f"calls:{n}", 0.0), 2), "usec": round(cost[f"usec:{n}"], 1)}
        for n in names
    }


def accepted(result: dict[str, Any]) -> int:
    """The webhooks a load run had accepted (202); the cost is shared among them only."""
    count = int(result["statuses"].get(202, 0))
    if count == 0:
        raise RuntimeError(f"no webhook accepted: {result}")
    return count


def wait_finished(client: redis.Redis, timeout: float = 300) -> int:
    """Wait until the tier's lists are empty and nothing is unacknowledged, then two seconds
    for what the last job set off. Returns the reads the polling cost (one pipeline each)."""
    deadline = time.monotonic() + timeout
    polls = 0
    keys = [k for k in client.scan_iter("remediator.nonprod*")]
    while time.monotonic() < deadline:
        polls += 1
        with client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.llen(key)
            pipe.hlen("unacked")
            if not any(pipe.execute()):
                break
        time.sleep(0.5)
    time.sleep(2)
    return polls


def redis_cost(
    env: dict[str, str], log_dir: Path, client: redis.Redis, n: int, ceiling: dict[str, Any]
) -> dict[str, Any]:
    """Phase A (web and worker) and B (web alone), n webhooks each; see the module's doc."""
    quiet = {k: v for k, v in env.items() if k != "SENTRY_DSN"}
    purge(client)
    web, port = gunicorn("cost-web", "remediator.web.app:create_app()", quiet, log_dir)
    ours = worker("cost-worker", "remediator.worker.celery_app", "remediator.nonprod", quiet, log_dir)
    first = 20_000_000
    try:
        loadgen.run(port, loadgen.signed_requests(SECRET, 100, first), max_seconds=30)
        first += 100
        wait_finished(client)
        idle_both = idle_rate(client)
        before = counters(client)
        result = loadgen.run(port, loadgen.signed_requests(SECRET, n, first), max_seconds=120)
        first += n
        polls = wait_finished(client)
        used = spent(before, counters(client))
        lists = len(list(client.scan_iter("remediator.nonprod*")))
        used["commands"] -= polls * (lists + 1)
        used["reads"] -= polls
        used["calls:llen"] = used.get("calls:llen", 0.0) - polls * lists
        used["calls:hlen"] = used.get("calls:hlen", 0.0) - polls
        with_jobs = less_idle(used, idle_both, accepted(result))
        ours.stop()
        idle_web = idle_rate(client)
        before = counters(client)
        result = loadgen.run(port, loadgen.signed_requests(SECRET, n, first), max_seconds=120)
        webhook = less_idle(spent(before, counters(client)), idle_web, accepted(result))
    finally:
        ours.stop()
        web.stop()
    job = {k: with_jobs[k] - webhook.get(k, 0.0) for k in with_jobs}
    requests_per_s = min(ceiling.get("lpush_per_s", float("nan")), ceiling.get("rpop_per_s", float("inf")))
    out: dict[str, Any] = {"webhooks": n}
    for name, cost in (("per_webhook", webhook), ("per_job", job)):
        out[name] = {
            "commands": round(cost["commands"], 1),
            "read_events": round(cost["reads"], 1),
            "redis_cpu_us": round(cost["cpu_s"] * 1e6, 1),
            "by_command": by_command(cost),
        }
    # One Redis serves requests on one core: its ceiling is the lesser of what its CPU allows
    # (1 s over the CPU each costs) and what redis-benchmark's requests/s allow per read event.
    for name, cost in (("webhooks", webhook), ("jobs", job), ("webhook_and_job", with_jobs)):
        by_cpu = 1 / cost["cpu_s"] if cost["cpu_s"] > 0 else float("inf")
        by_read_events = requests_per_s / cost["reads"] if cost["reads"] > 0 else float("inf")
        out[f"ceiling_{name}_per_s"] = {
            "by_cpu": round(by_cpu),
            "by_read_events": round(by_read_events),
            "ceiling": round(min(by_cpu, by_read_events)),
        }
    out["idle_per_s"] = {"web_and_worker": idle_both, "web": idle_web}
    log(f"redis cost: {out}")
    return out
