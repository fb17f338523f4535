"""A gate's later waves are admitted against its owner's limits, like any submission.

`POST /gates` admits only the first look's wave; the waves after it used to be
queued whole, so a gate of 10,000 images could put thousands of jobs past its
owner's `CERTIFY_TENANT_MAX_QUEUED`. Here, on a real Redis with the real queue
(no worker: the jobs stay queued, which is what the limit counts), a wave is
queued only as far as the limit allows, the gate says it waits, and it tops
the wave up as room appears.
"""

import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis

from app.gates.advance import advance, queue_wave
from app.gates.store import GateSpec, GateStore
from app.http.backend import Backend
from app.http.idempotency import no_claim
from app.jobs.queue import JobQueue
from certify_contract import CertifyOptions
from certify_jobs import fair_queue
from certify_settings import Settings
from certify_testkit.faults import distinct_png
from certify_testkit.processes import free_port, start_redis, stop

pytestmark = pytest.mark.integration

OWNER, MAX_QUEUED, SET_SIZE = "tenant-a", 80, 200  # looks 50, 100, 200
OPTIONS = CertifyOptions(radius=0.25, n0=20, n=200, batch_size=200)


@pytest.fixture
def gates(tmp_path: Path) -> Iterator[tuple[GateStore, JobQueue]]:
    port = free_port()
    server = start_redis(port, tmp_path)
    try:
        settings = Settings(redis_url=f"redis://127.0.0.1:{port}/0", data_dir=tmp_path / "data",
                            tenant_max_queued=MAX_QUEUED)
        backend = Backend(Redis(port=port), settings)
        yield GateStore(backend), JobQueue(backend)
    finally:
        stop(server)


def new_gate(store: GateStore) -> tuple[str, GateSpec]:
    gate_id = secrets.token_hex(16)
    spec = GateSpec(OWNER, "test-cnn", None, "image", OPTIONS, 0.5, 0.99, SET_SIZE,
                    order_seed=7, created_at="2026-12-05T00:00:00+00:00")
    items = []
    for index in range(SET_SIZE):
        data = distinct_png(index)
        key = store.backend.blobs.put(data, f"gate-{gate_id}", OWNER)
        items.append({"index": index, "name": f"{index}.png", "label": index % 10,
                      "upload_key": key, "sha256": key.rpartition("/")[2], "bytes": len(data),
                      "media_type": "image/png"})
    store.create(gate_id, spec, items, no_claim(gate_id))
    return gate_id, spec


def waiting(store: GateStore) -> int:
    return fair_queue.backlog_depth(store.redis, store.settings.queue_name, OWNER)


def test_a_later_wave_is_queued_only_as_far_as_the_owners_limit_allows(
        gates: tuple[GateStore, JobQueue]) -> None:
    store, queue = gates
    gate_id, spec = new_gate(store)
    queue_wave(store, queue, gate_id, spec, 0)  # admitted by POST /gates
    assert store.queued(gate_id) == 50
    first_wait = waiting(store)
    assert first_wait <= MAX_QUEUED

    queue_wave(store, queue, gate_id, spec, 1)  # the 50 more of look 1, as far as room allows
    assert store.queued(gate_id) == 50 + (MAX_QUEUED - first_wait)
    assert waiting(store) == MAX_QUEUED
    assert store.raw(gate_id)["look"] == "1" and "waiting_for_room" not in store.raw(gate_id)

    advance(store, queue, gate_id)  # no room at all: nothing queued, and the gate says it waits
    assert store.queued(gate_id) == 50 + (MAX_QUEUED - first_wait)
    assert waiting(store) == MAX_QUEUED
    assert json.dumps(store.raw(gate_id)).count("waiting_for_room") == 1

    # Twenty jobs leave the owner's backlog (started by workers): the wave is topped up.
    backlog = store.backend.keys.tenant_backlog(OWNER)
    for _ in range(20):
        store.redis.lpop(backlog)
    advance(store, queue, gate_id)
    assert store.queued(gate_id) == min(100, 50 + (MAX_QUEUED - first_wait) + 20)
    assert waiting(store) <= MAX_QUEUED
    assert "waiting_for_room" not in store.raw(gate_id)


def test_a_wave_within_the_limit_is_queued_whole(gates: tuple[GateStore, JobQueue]) -> None:
    store, queue = gates
    gate_id, spec = new_gate(store)
    queue_wave(store, queue, gate_id, spec, 0)
    backlog = store.backend.keys.tenant_backlog(OWNER)
    store.redis.delete(backlog)  # the first wave's jobs all started
    queue_wave(store, queue, gate_id, spec, 1)
    assert store.queued(gate_id) == 100 and waiting(store) == 50
