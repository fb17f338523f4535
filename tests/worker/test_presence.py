"""The presence key carries the latest document: a new throughput figure is published on the
next beat, and a full Redis keeps the old document alive instead of dropping the worker."""

from pathlib import Path

import pytest
from redis import Redis

from certify_testkit.processes import free_port, start_redis, stop
from worker.presence import Presence

pytestmark = pytest.mark.integration


def test_a_changed_document_is_written_and_a_full_redis_keeps_the_old_one(tmp_path: Path) -> None:
    port = free_port()
    server = start_redis(port, tmp_path)
    try:
        redis = Redis(port=port)
        document = {"text": "first"}
        presence = Presence(redis, "worker-1", lambda: document["text"], ["m"], ttl_s=10)
        presence.publish()
        assert redis.get(presence.key) == b"first"
        document["text"] = "second"
        presence.publish()
        assert redis.get(presence.key) == b"second" and redis.ttl(presence.key) > 0
        # Full: the SET of a larger document is refused; the old one is renewed.
        used = int(redis.info("memory")["used_memory"])
        redis.config_set("maxmemory", used)
        redis.config_set("maxmemory-policy", "noeviction")
        document["text"] = "third" * 100_000
        presence.publish()
        assert redis.get(presence.key) == b"second" and redis.ttl(presence.key) > 0
        redis.config_set("maxmemory", 0)  # room again: the next beat writes it
        presence.publish()
        assert redis.get(presence.key) == document["text"].encode()
    finally:
        stop(server)
