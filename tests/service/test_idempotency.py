"""Concurrent POSTs with one Idempotency-Key, over real HTTP against the running service."""

import hashlib
import threading
import time
import uuid

import httpx
import pytest
import redis

from certify_jobs.contract import ServiceKeys
from certify_testkit.processes import poll_job

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
