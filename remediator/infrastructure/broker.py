"""The broker as Redis and its Sentinels describe it: role, version, memory, eviction,
persistence, clients; with Sentinel, the master, replicas and Sentinels seen, and the last
failover remediator noticed."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, cast

import redis

from remediator.defaults import KEY_PREFIX
from remediator.jobs.store import is_sentinel, sentinel_nodes

LAST_MASTER_KEY = f"{KEY_PREFIX}sentinel:last-master"
"""The master the infrastructure page last saw, and when it changed (JSON)."""


@dataclass(frozen=True)
class SentinelView:
    """What the Sentinels say of the master remediator uses."""

    master: str | None
    """`host:port` of the master, as the first Sentinel that answered names it."""
    replicas: list[dict[str, str]] = field(default_factory=list)
    """Each replica: address and flags (`slave`, `s_down`...)."""
    sentinels: list[str] = field(default_factory=list)
    """Every Sentinel known: the one asked and the others it knows of."""
    unreachable: list[str] = field(default_factory=list)
    """Sentinels of the URL that did not answer."""
    last_failover: dict[str, Any] | None = None
    """The last master change remediator saw: from, to, at."""


@dataclass(frozen=True)
class BrokerView:
    """One reading of Redis's INFO."""

    role: str = ""
    version: str = ""
    used_memory: int = 0
    max_memory: int = 0
    """0: no limit."""
    eviction_policy: str = ""
    aof: bool = False
    rdb_last_save: float | None = None
    rdb_changes_since_save: int = 0
    rdb_last_status: str = ""
    clients: int = 0
    error: str | None = None
    """Why Redis could not be read (the rest is empty)."""
    sentinel: SentinelView | None = None

    @property
    def warnings(self) -> list[str]:
        """What an operator should fix: an eviction policy that can drop job records or
        queued messages, memory close to its limit, a failing snapshot."""
        found = []
        if self.eviction_policy and self.eviction_policy != "noeviction":
            found.append(
                f"maxmemory-policy is {self.eviction_policy}: under memory pressure Redis may evict "
                "queued jobs and records; set it to noeviction"
            )
        if self.max_memory and self.used_memory > 0.9 * self.max_memory:
            found.append(f"memory is {100 * self.used_memory / self.max_memory:.0f} % of maxmemory")
        if self.rdb_last_status and self.rdb_last_status != "ok":
            found.append(f"the last RDB snapshot failed ({self.rdb_last_status})")
        return found

    @property
    def persistence(self) -> str:
        """How Redis keeps data across a restart, in words."""
        kinds = []
        if self.aof:
            kinds.append("AOF")
        if self.rdb_last_save:
            kinds.append("RDB snapshots")
        return " and ".join(kinds) or "none (a restart loses everything)"


def from_info(info: dict[str, Any]) -> BrokerView:
    """A view of INFO's answer (redis-py's parsed dict). Pure."""

    def number(name: str) -> int:
        value = info.get(name, 0)
        return int(value) if isinstance(value, int | float) or str(value).isdigit() else 0

    last_save = number("rdb_last_save_time")
    return BrokerView(
        role=str(info.get("role", "")),
        version=str(info.get("redis_version", "")),
        used_memory=number("used_memory"),
        max_memory=number("maxmemory"),
        eviction_policy=str(info.get("maxmemory_policy", "")),
        aof=str(info.get("aof_enabled", 0)) == "1",
        rdb_last_save=float(last_save) if last_save and number("rdb_saves") else None,
        rdb_changes_since_save=number("rdb_changes_since_last_save"),
        rdb_last_status=str(info.get("rdb_last_bgsave_status", "")),
        clients=number("connected_clients"),
    )


def broker_view(client: redis.Redis, broker_url: str, master_name: str) -> BrokerView:
    """Read the broker (and its Sentinels, with a sentinel:// URL)."""
    try:
        info: Any = client.info()
        view = from_info(info)
    except redis.RedisError as exc:
        return BrokerView(error=str(exc))
    if not is_sentinel(broker_url):
        return view
    sentinel = sentinel_view(broker_url, master_name)
    return BrokerView(**{**view.__dict__, "sentinel": _note_failover(client, sentinel)})


def sentinel_view(broker_url: str, master_name: str, timeout: float = 0.5) -> SentinelView:
    """Ask the URL's Sentinels, in order, about the master; the first that answers tells."""
    nodes, _, _ = sentinel_nodes(broker_url)
    unreachable = []
    for host, port in nodes:
        node = redis.Redis(
            host=host,
            port=port,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            decode_responses=True,
        )
        try:
            master: Any = node.sentinel_master(master_name)
            replicas: Any = node.sentinel_slaves(master_name)
            others: Any = node.sentinel_sentinels(master_name)
        except redis.RedisError:
            unreachable.append(f"{host}:{port}")
            continue
        finally:
            node.close()
        return SentinelView(
            master=f"{master.get('ip')}:{master.get('port')}",
            replicas=[
                {"address": f"{r.get('ip')}:{r.get('port')}", "flags": _flags(r.get("flags"))}
                for r in replicas
            ],
            sentinels=[f"{host}:{port}", *(f"{s.get('ip')}:{s.get('port')}" for s in others)],
            unreachable=unreachable,
        )
    return SentinelView(master=None, unreachable=unreachable)


def _flags(value: Any) -> str:
    if isinstance(value, set | frozenset | list | tuple):
        return ",".join(sorted(str(v) for v in value))
    return str(value or "")


def _note_failover(client: redis.Redis, view: SentinelView) -> SentinelView:
    """Remember the master seen; a different one than last time is a failover (from, to, at)."""
    if view.master is None:
        return view
    try:
        raw = cast(str | None, client.get(LAST_MASTER_KEY))
        seen = json.loads(raw) if raw else {}
        if seen.get("master") != view.master:
            failover = (
                {"from": seen["master"], "to": view.master, "at": time.time()} if seen.get("master") else None
            )
            seen = {"master": view.master, "failover": failover or seen.get("failover")}
            client.set(LAST_MASTER_KEY, json.dumps(seen))
    except redis.RedisError:
        return view
    return SentinelView(**{**view.__dict__, "last_failover": seen.get("failover")})
