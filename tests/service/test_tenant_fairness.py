"""Fairness between tenants and per-tenant limits, against real processes."""

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from certify_jobs import fair_queue
from certify_testkit.processes import extra_api
from certify_testkit.tenant_faults import run_tenant_flood

pytestmark = pytest.mark.integration
SMALL = {"n": "100", "n0": "10", "batch_size": "100"}
ALICE, BOB = "alice-limits", "bob-limits"


def test_a_small_job_waits_for_one_job_not_behind_another_tenants_flood(tmp_path: Path) -> None:
    # Before fair dispatch, B's job waited behind the whole flood (about flood / workers
    # of A's jobs), and A's uploads expired after 5 s in the queue (upload_expired).
    report = run_tenant_flood(tmp_path, flood=30, workers=2, settle_s=300.0)
    summary = dict(report.rows())
    # Two workers: B waits for the first of two running jobs to end (or for the one
    # already handed to the queue); 2.5 A-job times leaves room for a loaded machine.
    assert report.b_wait_in_a_jobs < 2.5, summary
    # Every upload lived as long as its job waited (the flood outlasts the 5 s upload TTL).
    assert report.a_outcomes == {"succeeded": 30}, summary


@pytest.fixture(scope="module")
def limited_api(service: dict[str, object], logs: Path) -> Iterator[str]:
    # A queue no worker reads: submissions stay waiting.
    with extra_api(service, logs / "limits-api.log", CERTIFY_API_KEYS=f"{ALICE},{BOB}",
                   CERTIFY_QUEUE_NAME="limits", CERTIFY_TENANT_MAX_QUEUED="3",
                   CERTIFY_TENANT_SAMPLES_PER_HOUR="1000") as port:
        yield f"http://127.0.0.1:{port}"


def _post(url: str, key: str, image: bytes, files: int = 1, **fields: str) -> httpx.Response:
    parts = [("file", (f"{i}.png", image + bytes([i]))) for i in range(files)]
    path = "/certify" if files == 1 else "/batches"
    return httpx.post(f"{url}{path}", headers={"X-API-Key": key}, files=parts,
                      data={**SMALL, **fields}, timeout=60)


def test_queued_jobs_over_the_tenant_limit_get_429_and_others_are_untouched(
    limited_api: str, sample_png: bytes
) -> None:
    answers = [_post(limited_api, ALICE, sample_png, n="10", n0="5") for _ in range(6)]
    codes = [answer.status_code for answer in answers]
    # One job is handed to the queue, three wait in Alice's backlog; the next is refused.
    assert codes[:4] == [202] * 4 and 429 in codes, codes
    refused = answers[codes.index(429)]
    assert refused.json()["error"] == "tenant_queue_full"
    assert int(refused.headers["Retry-After"]) > 0
    batch = _post(limited_api, ALICE, sample_png, files=2, n="10", n0="5")
    assert batch.status_code == 429 and batch.json()["error"] == "tenant_queue_full"
    assert _post(limited_api, BOB, sample_png, n="10", n0="5").status_code == 202


def test_samples_over_the_hourly_budget_get_429_with_retry_after(
    limited_api: str, sample_png: bytes
) -> None:
    # 1000 samples an hour (Bob may have spent 15 above): 910, then 110 more is over.
    # Fails only if a clock hour ends between the two requests (they are ms apart).
    big = _post(limited_api, BOB, sample_png, n="900", n0="10")
    assert big.status_code == 202, big.text
    over = _post(limited_api, BOB, sample_png, n="100", n0="10")
    assert over.status_code == 429 and over.json()["error"] == "tenant_rate_limited"
    assert 0 < int(over.headers["Retry-After"]) <= 3601


@pytest.fixture
def store(redis_base: str) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(f"{redis_base}/14")
    connection.flushdb()
    try:
        yield connection
    finally:
        connection.flushdb()


QUEUE = "rq:queue:fair-test"


def _held(store: redis.Redis, tenant: str, count: int) -> list[str]:
    ids = [f"{tenant}-{i}" for i in range(count)]
    for job_id in ids:
        with store.pipeline() as pipe:
            pipe.rpush(QUEUE, job_id)  # as rq queues it, in the same transaction
            fair_queue.hold(pipe, QUEUE, job_id, tenant)
            pipe.execute()
    return ids


def _queued(store: redis.Redis) -> list[str]:
    return [item.decode() for item in store.lrange(QUEUE, 0, -1)]


def test_dispatch_takes_the_least_recently_served_tenant_first(store: redis.Redis) -> None:
    flood, small = _held(store, "a", 5), _held(store, "b", 1)
    assert _queued(store) == []  # held in the backlogs, not on the queue
    assert fair_queue.dispatch(store, QUEUE, depth=1) == 1
    assert fair_queue.dispatch(store, QUEUE, depth=1) == 0  # the queue holds one already
    store.delete(QUEUE)  # a worker took it
    assert fair_queue.dispatch(store, QUEUE, depth=10) == 5
    # a went first (both never served; ties by name), so b is next, then the rest of a.
    assert _queued(store) == [small[0], *flood[1:]]
    assert fair_queue.backlog_depth(store, "fair-test") == 0


def test_a_tenant_at_its_running_limit_waits_until_one_ends(store: redis.Redis) -> None:
    a_jobs, b_jobs = _held(store, "a", 3), _held(store, "b", 2)
    assert fair_queue.dispatch(store, QUEUE, depth=10, max_running=1) == 2
    assert _queued(store) == [a_jobs[0], b_jobs[0]]
    assert fair_queue.dispatch(store, QUEUE, depth=10, max_running=1) == 0
    fair_queue.job_ended(store, "fair-test", "a", a_jobs[0])
    assert fair_queue.dispatch(store, QUEUE, depth=10, max_running=1) == 1
    assert _queued(store)[-1] == a_jobs[1]
    # A running entry older than the job timeout no longer counts (a lost ending).
    assert fair_queue.dispatch(store, QUEUE, depth=10, max_running=1, job_timeout_s=-61) == 2
    assert fair_queue.backlog_depth(store, "fair-test") == 0


def test_a_queue_never_dispatches_another_queues_backlog(store: redis.Redis) -> None:
    """Two services on one Redis with different `CERTIFY_QUEUE_NAME`s: each worker dispatches
    its own queue's backlog only. Before, one tenant backlog served every queue, so a worker
    ran (and counted) another service's jobs."""
    other = "rq:queue:other-service"
    mine = _held(store, "a", 2)
    with store.pipeline() as pipe:
        pipe.rpush(other, "x-0")
        fair_queue.hold(pipe, other, "x-0", "a")
        pipe.execute()
    assert fair_queue.dispatch(store, other, depth=10) == 1
    assert [item.decode() for item in store.lrange(other, 0, -1)] == ["x-0"]
    assert fair_queue.dispatch(store, QUEUE, depth=10) == 2
    assert _queued(store) == mine
    assert fair_queue.backlog_depth(store, "fair-test") == 0
    assert fair_queue.backlog_depth(store, "other-service") == 0
