"""The load generator: signed webhooks over keep-alive HTTP from separate processes.

Closed loop (saturation): each thread sends as fast as answers come back. Open loop (fixed
rate): requests leave on a schedule whatever the answers, so latency is not hidden by the
sender slowing down. Both are bounded in count and in time.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import threading
import time
from typing import Any

from remediator.intake.signature import sign

PAYLOAD = json.loads("""{"action": "created", "actor": {"id": "sentry", "name": "Sentry",
 "type": "application"}, "installation": {"uuid": "a8e5d37a-696c-4c54-adb5-b3f28d64c7de"},
 "data": {"issue": {"id": "0", "shortId": "BENCH-0", "title": "OperationalError: pool exhausted",
 "culprit": "app.database.pool in acquire", "level": "error", "status": "unresolved",
 "project": {"id": "1", "name": "bench", "slug": "bench"}, "metadata": {"type": "OperationalError",
 "value": "pool exhausted"}, "count": "1", "userCount": 1, "firstSeen": "2026-01-01T00:00:00Z",
 "lastSeen": "2026-01-01T00:00:00Z"}}}""")


def signed_requests(secret: str, count: int, first_id: int) -> list[tuple[bytes, dict[str, str]]]:
    """Bodies and headers for `count` issue.created webhooks with distinct issue ids."""
    out = []
    for n in range(first_id, first_id + count):
        PAYLOAD["data"]["issue"]["id"] = str(n)
        body = json.dumps(PAYLOAD, separators=(",", ":")).encode()
        out.append(
            (
                body,
                {
                    "Content-Type": "application/json",
                    "Sentry-Hook-Resource": "issue",
                    "Sentry-Hook-Timestamp": str(int(time.time())),
                    "Request-ID": f"{n:032x}",
                    "Sentry-Hook-Signature": sign(secret, body),
                },
            )
        )
    return out


def post(
    conn: http.client.HTTPConnection, port: int, body: bytes, headers: dict[str, str]
) -> tuple[http.client.HTTPConnection, int]:
    """One webhook over a keep-alive connection: the connection to use next and the status
    (0 when the connection failed; a new one is made)."""
    try:
        conn.request("POST", "/sentry/webhook", body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return conn, response.status
    except (OSError, http.client.HTTPException):
        conn.close()
        return http.client.HTTPConnection("127.0.0.1", port, timeout=10), 0


def _worker(
    port: int,
    work: list[tuple[bytes, dict[str, str]]],
    schedule: list[float] | None,
    deadline: float,
    results: Any,
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    for i, (body, headers) in enumerate(work):
        if schedule is not None:
            delay = schedule[i] - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        if time.monotonic() > deadline:
            break
        started = time.monotonic()
        conn, code = post(conn, port, body, headers)
        latencies.append(time.monotonic() - started)
        statuses[code] = statuses.get(code, 0) + 1
    results.put((latencies, statuses))


def _process(
    port: int,
    work: list[tuple[bytes, dict[str, str]]],
    threads: int,
    rate: float | None,
    max_seconds: float,
    results: Any,
) -> None:
    start = time.monotonic() + 0.2
    deadline = start + max_seconds
    shards = [work[i::threads] for i in range(threads)]
    schedules: list[list[float] | None] = [None] * threads
    if rate is not None:
        # request k of the whole stream leaves at start + k / rate
        schedules = [
            [start + (i + k * threads) / rate for k in range(len(shards[i]))] for i in range(threads)
        ]
    pool = [
        threading.Thread(target=_worker, args=(port, shards[i], schedules[i], deadline, results))
        for i in range(threads)
    ]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()


def run(
    port: int | list[int],
    work: list[tuple[bytes, dict[str, str]]],
    processes: int = 2,
    threads: int = 8,
    rate: float | None = None,
    max_seconds: float = 30.0,
) -> dict[str, Any]:
    """Send `work` from `processes` x `threads` connections (at `rate` req/s in total if
    given; several ports: load-generator process i sends to port i mod count, as a load
    balancer would spread them); returns throughput, latency percentiles and status counts."""
    ports = port if isinstance(port, list) else [port]
    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()
    per_process_rate = rate / processes if rate else None
    chunks = [work[i::processes] for i in range(processes)]
    started = time.monotonic()
    procs = [
        ctx.Process(
            target=_process,
            args=(ports[i % len(ports)], chunks[i], threads, per_process_rate, max_seconds, results),
        )
        for i in range(processes)
    ]
    for proc in procs:
        proc.start()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    for _ in range(processes * threads):
        lat, codes = results.get(timeout=max_seconds + 60)
        latencies += lat
        for code, n in codes.items():
            statuses[code] = statuses.get(code, 0) + n
    for proc in procs:
        proc.join()
    elapsed = time.monotonic() - started - 0.2
    latencies.sort()
    return {
        "requests": len(latencies),
        "seconds": round(elapsed, 3),
        "rps": round(len(latencies) / elapsed, 1) if elapsed > 0 else 0.0,
        "p50_ms": round(1000 * percentile(latencies, 50), 2),
        "p99_ms": round(1000 * percentile(latencies, 99), 2),
        "statuses": statuses,
    }


def percentile(sorted_values: list[float], pct: float) -> float:
    """The pct-th percentile of already sorted values (nearest rank)."""
    if not sorted_values:
        return float("nan")
    rank = max(0, min(len(sorted_values) - 1, round(pct / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[rank]
