"""Concurrent POSTs with one Idempotency-Key, over real HTTP against the running service."""

import hashlib
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from certify_jobs.contract import ServiceKeys
from certify_testkit.processes import extra_api, poll_job

pytestmark = pytest.mark.integration
SMALL = {"n": "10", "n0": "5"}
CLIENTS = 50


def _post_together(url: str, key: str, image: bytes) -> list[httpx.Response]:
    """CLIENTS requests released at once by a barrier, each on its own connection."""
    barrier = threading.Barrier(CLIENTS)
    answers: list[httpx.Response] = []
    lock = threading.Lock()

    def post() -> None:
        with httpx.Client(base_url=url, timeout=60) as client:
            barrier.wait()
            answer = client.post("/certify", files={"file": ("a.png", image)}, data=SMALL,
                                 headers={"Idempotency-Key": key})
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=post) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_fifty_concurrent_duplicates_all_get_the_first_job(
    service: dict[str, object], client: httpx.Client, sample_png: bytes
) -> None:
    answers = _post_together(str(service["url"]), f"burst-{uuid.uuid4().hex}", sample_png)
    assert sorted({a.status_code for a in answers}) in ([202], [200], [200, 202]), \
        [a.text for a in answers if a.status_code not in (200, 202)]
    ids = {a.json()["job_id"] for a in answers}
    assert len(ids) == 1, ids
    assert poll_job(client, ids.pop())["status"] == "succeeded"


def test_a_duplicate_takes_over_a_key_its_first_request_released(
    service: dict[str, object], client: httpx.Client, sample_png: bytes
) -> None:
    """The first request claimed the key, then failed to queue and released it (as on a 503)."""
    key = f"released-{uuid.uuid4().hex}"
    connection = redis.Redis.from_url(str(service["redis_url"]))
    claimed = ServiceKeys().idempotency("anonymous", hashlib.sha256(key.encode()).hexdigest())
    never_queued = uuid.uuid4().hex
    connection.set(claimed, never_queued, ex=60)
    threading.Timer(0.5, connection.delete, (claimed,)).start()
    started = time.monotonic()
    answer = client.post("/certify", files={"file": ("a.png", sample_png)}, data=SMALL,
                         headers={"Idempotency-Key": key})
    assert answer.status_code == 202, answer.text
    job_id = answer.json()["job_id"]
    # It waited for the first request rather than answering 404, then queued its own job.
    assert job_id != never_queued and time.monotonic() - started >= 0.4
    assert connection.get(claimed) == job_id.encode()
    assert poll_job(client, job_id)["status"] == "succeeded"


LEASE_S = 1


@pytest.fixture(scope="module")
def short_lease_api(service: dict[str, object], logs: Path) -> Iterator[str]:
    with extra_api(service, logs / "lease-api.log",
                   CERTIFY_IDEMPOTENCY_LEASE_S=str(LEASE_S)) as port:
        yield f"http://127.0.0.1:{port}"


def _claimed(key: str, scope: str = "") -> str:
    scoped = f"{scope}:{key}" if scope else key
    return ServiceKeys().idempotency("anonymous", hashlib.sha256(scoped.encode()).hexdigest())


@pytest.mark.parametrize("left", ["bound", "pending"])
def test_a_retry_replaces_what_a_dead_request_left(
    short_lease_api: str, service: dict[str, object], sample_png: bytes, left: str
) -> None:
    """An API killed between claiming the key and queueing leaves the key behind: bound to a
    job that never existed (as the previous version did), or pending (as this one does).
    The retry must get a job that exists, never the phantom's id."""
    key = f"dead-{left}-{uuid.uuid4().hex}"
    connection = redis.Redis.from_url(str(service["redis_url"]))
    phantom = uuid.uuid4().hex
    if left == "bound":
        connection.set(_claimed(key), phantom, ex=3600)
    else:
        connection.set(_claimed(key), f"pending:{phantom}", ex=LEASE_S)
    with httpx.Client(base_url=short_lease_api, timeout=60) as http:
        answer = http.post("/certify", files={"file": ("a.png", sample_png)}, data=SMALL,
                           headers={"Idempotency-Key": key})
        assert answer.status_code == 202, answer.text
        job_id = answer.json()["job_id"]
        assert phantom not in job_id
        assert http.get(f"/jobs/{job_id}").status_code == 200
        assert connection.get(_claimed(key)) == job_id.encode()
        again = http.post("/certify", files={"file": ("a.png", sample_png)}, data=SMALL,
                          headers={"Idempotency-Key": key})
        assert again.json()["job_id"] == job_id
        assert poll_job(http, job_id)["status"] == "succeeded"


def test_a_batch_retry_replaces_a_key_pointing_at_nothing(
    short_lease_api: str, service: dict[str, object], sample_png: bytes
) -> None:
    key = f"dead-batch-{uuid.uuid4().hex}"
    connection = redis.Redis.from_url(str(service["redis_url"]))
    connection.set(_claimed(key, "batch"), uuid.uuid4().hex, ex=3600)
    files = [("file", (f"{i}.png", sample_png + bytes([i]))) for i in range(3)]
    with httpx.Client(base_url=short_lease_api, timeout=60) as http:
        answer = http.post("/batches", files=files, data=SMALL, headers={"Idempotency-Key": key})
        assert answer.status_code == 202, answer.text
        batch_id = answer.json()["batch_id"]
        view = http.get(f"/batches/{batch_id}").json()
        assert view["total"] == 3 and view["status"] != "open"
        assert len(http.get(f"/batches/{batch_id}/jobs").json()["items"]) == 3


def test_a_job_and_its_key_are_written_together(
    short_lease_api: str, service: dict[str, object], sample_png: bytes
) -> None:
    """While a request holds a key, the key never names an id; once it names one, the job
    exists: read in one round trip (MULTI) after every answer."""
    key = f"together-{uuid.uuid4().hex}"
    connection = redis.Redis.from_url(str(service["redis_url"]))
    with httpx.Client(base_url=short_lease_api, timeout=60) as http:
        job_id = http.post("/certify", files={"file": ("a.png", sample_png)}, data=SMALL,
                           headers={"Idempotency-Key": key}).json()["job_id"]
    with connection.pipeline() as pipe:
        pipe.get(_claimed(key))
        pipe.ttl(_claimed(key))
        pipe.exists(f"rq:job:{job_id}")
        bound, ttl, exists = pipe.execute()
    assert bound == job_id.encode() and exists == 1
    assert ttl > 3600  # bound for CERTIFY_IDEMPOTENCY_TTL_S, no longer the lease
