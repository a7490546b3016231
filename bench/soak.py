"""`python -m bench --soak 30m`: the whole system (`remediator up`) under a steady mix of
webhooks for a long while, then what it left behind.

Mixed payloads at a fixed rate: issues that run and succeed on either tier, issues whose
job fails (and trips its rule's breaker), class-A prod jobs that wait for approval, dry
runs, repeated deliveries (duplicates), event and metric alerts, comments and installations
(answered, no job), and forged signatures (401). Reported: the RSS of every process and
Redis's memory once warm and at the end, jobs left `queued` or `running` after the load
stops and the backlog drains, and keys that outlive the retention (job, timeline, notes and
issue keys without an expiry or with one past `REMEDIATOR_JOB_RETENTION_DAYS`, and index
entries older than the retention). Not part of CI: run it once and put the figures in the
README."""

from __future__ import annotations

import copy
import http.client
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import redis

from bench import loadgen
from bench.measures import SECRET, log
from bench.sink import dsn
from remediator.defaults import KEY_PREFIX
from remediator.intake.signature import sign
from remediator.local.embedded_redis import free_port
from remediator.settings import EMBEDDED_BROKER_FILE

PAYLOADS = Path(__file__).resolve().parent.parent / "tests" / "payloads"

SOAK_RULES = """
version: 1
rules:
  - name: soak-nonprod
    approval: false
    match: {culprit: {contains: soak.nonprod}}
    job: {script: noop, tier: nonprod, class: C}
  - name: soak-prod
    approval: false
    match: {culprit: {contains: soak.prod}}
    job: {script: noop, tier: prod, class: B}
  - name: soak-fails
    approval: false
    breaker_after: 1000000
    match: {culprit: {contains: soak.fails}}
    job:
      script: http-request
      tier: nonprod
      class: D
      params: {url: "http://127.0.0.1:9/refused", method: POST}
  - name: soak-approval
    match: {culprit: {contains: soak.approval}}
    job: {script: noop, tier: prod, class: A}
  - name: soak-dry
    dry_run: true
    match: {culprit: {contains: soak.dry}}
    job: {script: noop, tier: nonprod, class: C}
  - name: soak-alert
    approval: false
    match: {resource: [event_alert, metric_alert]}
    job: {script: noop, tier: nonprod, class: C}
"""

MIX = (
    ("issue", "soak.nonprod", 30),
    ("issue", "soak.prod", 15),
    ("issue", "soak.fails", 10),
    ("issue", "soak.approval", 5),
    ("issue", "soak.dry", 5),
    ("duplicate", "soak.nonprod", 10),
    ("event_alert", "", 8),
    ("metric_alert", "", 5),
    ("comment", "", 4),
    ("installation", "", 3),
    ("forged", "soak.nonprod", 5),
)
"""(kind, culprit, weight): what the steady stream is made of."""

PER_JOB_KEYS = ("job:", "issue:")
"""Key families that must carry the retention as their expiry."""


def parse_duration(text: str) -> float:
    """'30m', '90s', '1h' -> seconds."""
    units = {"s": 1, "m": 60, "h": 3600}
    if text and text[-1] in units:
        return float(text[:-1]) * units[text[-1]]
    return float(text)


class _Stream:
    """Builds the next signed delivery of the mix."""

    def __init__(self) -> None:
        self.templates = {
            name: json.loads((PAYLOADS / f"{name}.json").read_text())
            for name in ("issue_created", "event_alert_triggered", "metric_alert_resolved")
        }
        self.templates["comment"] = json.loads((PAYLOADS / "comment_created.json").read_text())
        self.templates["installation"] = json.loads((PAYLOADS / "installation_created.json").read_text())
        self.kinds = [(k, c) for k, c, w in MIX for _ in range(w)]
        self.n = 0
        self.last: tuple[bytes, dict[str, str]] | None = None
        self.rng = random.Random(7)

    def next(self) -> tuple[bytes, dict[str, str], str]:
        kind, culprit = self.rng.choice(self.kinds)
        if kind == "duplicate" and self.last is not None:
            body, headers = self.last
            return (
                body,
                {**headers, "Sentry-Hook-Timestamp": str(int(time.time()))}
                | {"Sentry-Hook-Signature": sign(SECRET, body)},
                kind,
            )
        self.n += 1
        resource = "issue"
        if kind in ("issue", "duplicate", "forged"):
            doc = copy.deepcopy(self.templates["issue_created"])
            doc["data"]["issue"]["id"] = f"77{self.n:08d}"
            doc["data"]["issue"]["culprit"] = f"{culprit} in handler {self.n % 50}"
        elif kind == "event_alert":
            doc = copy.deepcopy(self.templates["event_alert_triggered"])
            doc["data"]["event"]["event_id"] = f"{self.n:032x}"
            doc["data"]["event"]["issue_id"] = f"78{self.n:08d}"
            resource = "event_alert"
        elif kind == "metric_alert":
            doc = copy.deepcopy(self.templates["metric_alert_resolved"])
            doc["action"] = "critical"
            resource = "metric_alert"
        elif kind == "comment":
            doc = copy.deepcopy(self.templates["comment"])
            resource = "comment"
        else:
            doc = copy.deepcopy(self.templates["installation"])
            resource = "installation"
        body = json.dumps(doc, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            "Sentry-Hook-Resource": resource,
            "Sentry-Hook-Timestamp": str(int(time.time())),
            "Request-ID": os.urandom(16).hex(),
            "Sentry-Hook-Signature": sign("not-the-secret" if kind == "forged" else SECRET, body),
        }
        if kind == "issue":
            self.last = (body, headers)
        return body, headers, kind


def _processes(root: psutil.Process) -> dict[str, int]:
    """RSS (bytes) of every process under `remediator up`, named by its command line."""
    out: dict[str, int] = {}
    for proc in [root, *root.children(recursive=True)]:
        try:
            cmd = " ".join(proc.cmdline())
            rss = proc.memory_info().rss
        except psutil.Error:
            continue
        name = ("sh: " if cmd.startswith("/bin/sh") else "") + _name(cmd, proc.pid, root.pid)
        n = 1
        while f"{name} #{n}" in out:
            n += 1
        out[f"{name} #{n}"] = rss
    return out


def _name(cmd: str, pid: int, root: int) -> str:
    if pid == root:
        return "up"
    if "remediator up" in cmd:
        return "up (honcho's output)"
    for marker, name in (
        ("redis-server", "redis"),
        ("gunicorn", "web"),
        ("worker prod", "worker prod"),
        ("worker nonprod", "worker nonprod"),
        ("-Q remediator.prod", "worker prod"),
        ("-Q remediator.nonprod", "worker nonprod"),
        ("beat", "beat"),
        ("honcho", "honcho"),
        ("remediator web", "web"),
        ("remediator worker prod", "worker prod"),
        ("remediator worker nonprod", "worker nonprod"),
        ("remediator beat", "beat"),
        ("remediator up", "up"),
    ):
        if marker in cmd:
            return name
    return cmd[:40]


def _in_flight(client: redis.Redis) -> int:
    return int(client.zcard(f"{KEY_PREFIX}idx:status:queued")) + int(
        client.zcard(f"{KEY_PREFIX}idx:status:running")
    )


def _leftovers(client: redis.Redis, retention_s: float) -> dict[str, int]:
    """Jobs still queued or running, and what outlives the retention."""
    now = time.time()
    out = {
        "queued": int(client.zcard(f"{KEY_PREFIX}idx:status:queued")),
        "running": int(client.zcard(f"{KEY_PREFIX}idx:status:running")),
        "keys_without_expiry": 0,
        "keys_expiring_past_retention": 0,
        "index_entries_past_retention": int(client.zcount(f"{KEY_PREFIX}jobs", "-inf", now - retention_s)),
    }
    for key in client.scan_iter(f"{KEY_PREFIX}*", count=1000):
        name = key.decode()[len(KEY_PREFIX) :]
        if not name.startswith(PER_JOB_KEYS):
            continue
        ttl = int(client.ttl(key))
        if ttl == -1:
            out["keys_without_expiry"] += 1
        elif ttl > retention_s:
            out["keys_expiring_past_retention"] += 1
    return out


def _apart_from_records(client: redis.Redis, warm: dict[str, Any], end: dict[str, Any]) -> dict[str, Any]:
    """Redis grows with the job records it keeps for the retention (30 days): what a record
    costs (sampled with MEMORY USAGE) and how much of the growth is not records."""
    ids = [i.decode() for i in client.zrange(f"{KEY_PREFIX}jobs", -200, -1)]
    per_record = 0.0
    if ids:
        total = 0
        for job_id in ids:
            for key in (
                f"{KEY_PREFIX}job:{job_id}",
                f"{KEY_PREFIX}job:{job_id}:timeline",
                f"{KEY_PREFIX}job:{job_id}:notes",
            ):
                total += int(client.memory_usage(key) or 0)
        per_record = total / len(ids) + 4 * 64  # and its entries in four sorted-set indexes
    new_records = end["records"] - warm["records"]
    growth = (end["redis_used_mb"] - warm["redis_used_mb"]) * 2**20
    rest = growth - new_records * per_record
    return {
        "bytes_per_record": round(per_record),
        "records_added": new_records,
        "growth_mb": round(growth / 2**20, 2),
        "growth_not_records_mb": round(rest / 2**20, 2),
        "growth_not_records_pct": round(100 * rest / (warm["redis_used_mb"] * 2**20), 1),
    }


def _families(client: redis.Redis) -> dict[str, int]:
    """How many keys of each kind: the prefix up to the first id-like part."""
    out: dict[str, int] = {}
    for key in client.scan_iter(count=1000):
        parts = key.decode().split(":")
        family = ":".join(p if not any(ch.isdigit() for ch in p) or p.isalpha() else "*" for p in parts[:3])
        out[family] = out.get(family, 0) + 1
    return dict(sorted(out.items(), key=lambda kv: -kv[1])[:15])


def _snapshot(root: psutil.Process, client: redis.Redis) -> dict[str, Any]:
    info = client.info("memory")
    return {
        "rss_mb": {k: round(v / 2**20, 1) for k, v in sorted(_processes(root).items())},
        "redis_used_mb": round(int(info["used_memory"]) / 2**20, 2),
        "redis_keys": int(client.dbsize()),
        "records": int(client.zcard(f"{KEY_PREFIX}jobs")),
        "key_families": _families(client),
        "at": time.strftime("%H:%M:%S"),
    }


def soak(duration: float, rate: float, warm: float | None = None) -> dict[str, Any]:
    """Run `remediator up` under the steady mix for `duration` seconds at `rate` req/s."""
    warm = warm if warm is not None else min(300.0, duration / 6)
    work = Path(os.environ.get("BENCH_SOAK_DIR") or f"/tmp/remediator-soak-{os.getpid()}")
    work.mkdir(parents=True, exist_ok=True)
    (work / "rules.yaml").write_text(SOAK_RULES)
    sink_port, web_port = free_port(), free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("REMEDIATOR_", "SENTRY_"))},
        "REMEDIATOR_DATA_DIR": str(work / "var"),
        "REMEDIATOR_RULES_FILE": str(work / "rules.yaml"),
        "REMEDIATOR_SENTRY_CLIENT_SECRET": SECRET,
        "REMEDIATOR_API_TOKEN": "soak-token",
        "REMEDIATOR_TIER_MAX_RUNS": "prod=100000000/1h,nonprod=100000000/1h",
        "REMEDIATOR_APPROVAL_TTL_SECONDS": "120",
        "SENTRY_DSN": dsn(sink_port),
        "PORT": str(web_port),
    }
    sink = subprocess.Popen(
        [sys.executable, "-m", "bench.sink", str(sink_port)], env=env, start_new_session=True
    )
    up_log = open(work / "up.log", "wb")  # noqa: SIM115
    up = subprocess.Popen(
        [sys.executable, "-m", "remediator", "up"],
        env=env,
        stdout=up_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    stream = _Stream()
    statuses: dict[str, dict[int, int]] = {}
    out: dict[str, Any] = {"seconds": duration, "rate": rate, "warm_seconds": warm}
    try:
        _wait_web(web_port, up)
        # `remediator up` started its own embedded Redis, as for a newcomer.
        client = redis.Redis.from_url((work / "var" / EMBEDDED_BROKER_FILE).read_text().strip())
        root = psutil.Process(up.pid)
        conn = http.client.HTTPConnection("127.0.0.1", web_port, timeout=10)
        started = time.monotonic()
        next_report = started + 60
        sent = 0
        while (now := time.monotonic()) < started + duration:
            if "warm" not in out and now >= started + warm:
                out["warm"] = _snapshot(root, client)
                log(f"soak warm: {out['warm']}")
            body, headers, kind = stream.next()
            conn, code = loadgen.post(conn, web_port, body, headers)
            statuses.setdefault(kind, {})
            statuses[kind][code] = statuses[kind].get(code, 0) + 1
            sent += 1
            if now >= next_report:
                log(f"soak: {sent} sent in {now - started:.0f}s; {_snapshot(root, client)['rss_mb']}")
                next_report += 60
            time.sleep(max(0.0, started + sent / rate - time.monotonic()))
        out["sent"] = sent
        out["end"] = _snapshot(root, client)
        # Let the last jobs finish before counting what is stuck.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and _in_flight(client):
            time.sleep(2)
        out["leftovers"] = _leftovers(client, 30 * 86400)
        out["statuses"] = {k: {str(c): n for c, n in v.items()} for k, v in statuses.items()}
        out["growth_pct"] = {
            name: round(100 * (out["end"]["rss_mb"][name] - mb) / mb, 1)
            for name, mb in out["warm"]["rss_mb"].items()
            if name in out["end"]["rss_mb"] and mb
        }
        warm_redis = out["warm"]["redis_used_mb"]
        out["growth_pct"]["redis used_memory"] = round(
            100 * (out["end"]["redis_used_mb"] - warm_redis) / warm_redis, 1
        )
        out["redis_apart_from_records"] = _apart_from_records(client, out["warm"], out["end"])
        out["job_statuses"] = {
            key.decode().rsplit(":", 1)[1]: int(client.zcard(key))
            for key in client.scan_iter(f"{KEY_PREFIX}idx:status:*")
        }
    finally:
        os.killpg(up.pid, signal.SIGINT)
        try:
            up.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(up.pid, signal.SIGKILL)
        os.killpg(sink.pid, signal.SIGTERM)
        up_log.close()
    log(f"soak: {json.dumps(out)}")
    return out


def _wait_web(port: int, up: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if up.poll() is not None:
            raise RuntimeError("remediator up exited before its web answered")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/readyz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError("remediator up's web did not become ready in 60 s")
