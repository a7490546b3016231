"""The infrastructure the console shows: the broker read from Redis's INFO, the rules'
health URLs probed (by the page and by beat on a real worker) with an hour of answers, and
Sentry's side (its API's rate-limit headroom, the tiers' cron monitors, uptime monitors)
as the stand-in answers it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from remediator.defaults import HEARTBEAT_TASK, PROBE_TASK, queue_for
from remediator.infrastructure.broker import from_info
from remediator.infrastructure.probes import history
from remediator.infrastructure.sentry_side import rate_limit, sentry_side, tier_monitors
from remediator.infrastructure.targets import health_targets, shown
from remediator.rules.loader import parse_rules
from remediator.settings import Settings
from remediator.worker.celery_app import create_celery
from tests.helpers import STANDIN_TOKEN, TOKEN, HttpTarget, running_worker, wait_for

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def rules_with(health: str) -> str:
    return f"""
rules:
  - name: restart-api
    match: {{culprit: {{contains: api}}}}
    job: {{script: restart-service, tier: nonprod, class: C, namespace: web,
          params: {{url: "{health}/restart", health_url: "{health}/health"}}}}
  - name: restart-api-again
    match: {{culprit: {{contains: gateway}}}}
    job: {{script: restart-service, tier: nonprod, class: C, namespace: web,
          params: {{url: "{health}/restart", health_url: "{health}/health"}}}}
  - name: per-issue
    match: {{culprit: {{contains: worker}}}}
    job: {{script: restart-service, tier: nonprod, class: C, namespace: web,
          params: {{url: "{health}/restart", health_url: "{health}/{{{{ project }}}}/health"}}}}
"""


# -- pure -----------------------------------------------------------------------------


def test_an_eviction_policy_that_can_drop_jobs_is_a_warning_and_noeviction_is_not() -> None:
    info = {"role": "master", "redis_version": "7.0.15", "used_memory": 2_000_000, "maxmemory": 0}
    safe = from_info(info | {"maxmemory_policy": "noeviction"})
    assert safe.warnings == [] and safe.role == "master" and safe.version == "7.0.15"
    risky = from_info(info | {"maxmemory_policy": "allkeys-lru", "maxmemory": 2_100_000})
    assert [w.split(":")[0] for w in risky.warnings] == [
        "maxmemory-policy is allkeys-lru",
        "memory is 95 % of maxmemory",
    ]
    assert from_info(info).persistence == "none (a restart loses everything)"
    assert from_info(info | {"aof_enabled": 1}).persistence == "AOF"


def test_health_urls_come_from_the_rules_once_each_and_templated_ones_are_not_probed() -> None:
    rules = parse_rules(rules_with("http://svc.internal:8080"))
    targets = health_targets(rules)
    assert [(t.url, t.rules, t.templated) for t in targets] == [
        ("http://svc.internal:8080/health", ("restart-api", "restart-api-again"), False),
        ("http://svc.internal:8080/{{ project }}/health", ("per-issue",), True),
    ]


def test_a_shown_url_leaves_out_credentials_and_query_values() -> None:
    assert (
        shown("https://ops:hunter2@svc:8443/health?token=abc&x=1")
        == "https://[credentials]@svc:8443/health?token=…&x=…"
    )
    assert shown("http://svc/health") == "http://svc/health"


def test_rate_limit_headroom_and_tier_monitors_read_off_sentrys_answers() -> None:
    headers = {
        "X-Sentry-Rate-Limit-Limit": "40",
        "X-Sentry-Rate-Limit-Remaining": "39",
        "X-Sentry-Rate-Limit-Reset": "17",
    }
    assert rate_limit(headers) == {"limit": 40, "remaining": 39, "reset": 17}
    answer = [
        {
            "slug": "batch-worker-prod",
            "environments": [{"name": "production", "status": "ok", "lastCheckIn": "t"}],
        }
    ]
    prod, nonprod = tier_monitors(answer, ("prod", "nonprod"))
    assert prod.found and prod.environments[0]["status"] == "ok"
    assert not nonprod.found and nonprod.slug == "batch-worker-nonprod"


# -- real services ----------------------------------------------------------------------


def test_the_api_reads_redis_and_a_probed_target_goes_from_up_to_down(make_app, redis_db) -> None:
    target = HttpTarget()
    client = make_app(rules_with(target.url)).test_client()
    doc = client.get("/api/infrastructure?probe=1", headers=AUTH).get_json()
    assert doc["broker"]["role"] == "master" and doc["broker"]["used_memory"] > 0
    assert doc["spool_depth"] == 0
    up = {t["url"]: t for t in doc["targets"]}[f"{target.url}/health"]
    assert up["up"] is True and up["probes"][0]["status"] == 200 and up["probes"][0]["by"] == "web"
    assert "/health" in target.paths()
    target.close()  # the service goes away
    doc = client.get("/api/infrastructure?probe=1", headers=AUTH).get_json()
    down = {t["url"]: t for t in doc["targets"]}[f"{target.url}/health"]
    assert (
        down["up"] is False
        and down["probes"][0]["status"] is None
        and "Connection" in down["probes"][0]["error"]
    )
    assert len(down["probes"]) == 2 and down["up_share"] == 0.5  # the hour keeps both answers
    templated = [t for t in doc["targets"] if t["templated"]]
    assert templated and templated[0]["probes"] == []


def test_beat_probes_the_rules_health_urls_on_a_real_worker(
    tmp_path: Path, private_broker_url, log_dir
) -> None:
    target = HttpTarget()
    rules = tmp_path / "rules.yaml"
    rules.write_text(rules_with(target.url))
    env = {"REMEDIATOR_BROKER_URL": private_broker_url, "REMEDIATOR_RULES_FILE": str(rules)}
    from remediator.jobs import redis_client

    client = redis_client(private_broker_url)
    with running_worker("nonprod", log_dir, env=env, name="nonprod-probes"):
        create_celery(private_broker_url).send_task(PROBE_TASK, queue=queue_for("nonprod"))
        url = f"{target.url}/health"
        found = wait_for(lambda: history(client, [url])[url], timeout=20, what="the beat's probe")
    assert found[0].by == "beat" and found[0].status == 200
    target.close()


def test_sentrys_side_shows_the_rate_limit_and_each_tiers_monitor_after_its_check_in(
    standin, workers, broker_url
) -> None:
    standin.config.add_uptime_monitor("https://shop.example.com/health", name="shop", up=False)
    celery = create_celery(broker_url)
    celery.send_task(HEARTBEAT_TASK, args=["prod"], queue=queue_for("prod"), priority=0)
    settings = Settings(sentry_api_url=standin.api_url, sentry_auth_token=STANDIN_TOKEN, sentry_org="acme")

    def checked_in() -> Any:
        side = sentry_side(settings)
        prod = next(m for m in side.monitors if m.tier == "prod")
        return side if prod.environments and prod.environments[0]["status"] == "ok" else None

    side = wait_for(checked_in, timeout=20, what="the prod tier's check-in to reach the stand-in")
    assert side.reachable and side.rate_limit["limit"] == 40 and 0 <= side.rate_limit["remaining"] < 40
    nonprod = next(m for m in side.monitors if m.tier == "nonprod")
    assert side.uptime == [
        {
            "name": "shop",
            "url": "https://shop.example.com/health",
            "status": "active",
            "up": False,
            "environment": "production",
        }
    ]
    assert not nonprod.found  # no heartbeat reached it: its first check-in creates it
    wrong = Settings(sentry_api_url=standin.api_url, sentry_auth_token="nope", sentry_org="acme")
    refused = sentry_side(wrong)
    assert not refused.reachable and "401" in (refused.error or "")
    assert not sentry_side(Settings(sentry_auth_token=None)).configured


def test_with_sentinel_the_broker_shows_master_replica_sentinel_and_the_failover_it_noticed(
    tmp_path: Path,
) -> None:
    from remediator.infrastructure.broker import broker_view
    from remediator.jobs import redis_client
    from tests.redis_ha import MASTER_NAME, SentinelGroup

    group = SentinelGroup(tmp_path / "redis").start()
    try:
        client = redis_client(group.url, master_name=MASTER_NAME)
        first = broker_view(client, group.url, MASTER_NAME)
        assert first.role == "master" and first.sentinel is not None
        assert first.sentinel.master == f"127.0.0.1:{group.master_port}"
        assert [r["address"] for r in first.sentinel.replicas] == [f"127.0.0.1:{group.replica_port}"]
        assert first.sentinel.sentinels == [f"127.0.0.1:{group.sentinel_port}"]
        assert first.sentinel.last_failover is None
        group.kill_master()
        group.wait_for_failover()

        def noticed() -> dict[str, Any] | None:
            view = broker_view(client, group.url, MASTER_NAME)
            return view.sentinel.last_failover if view.sentinel else None

        failover = wait_for(noticed, timeout=20, what="the failover to be noticed")
        assert failover["from"] == f"127.0.0.1:{group.master_port}"
        assert failover["to"] == f"127.0.0.1:{group.replica_port}"
    finally:
        group.stop()
