"""Webhooks end to end: a receiver on 127.0.0.1 that verifies signatures, is down, is slow.

Every receiver listens on loopback; the platform allows loopback targets only
because the tests set CERTIFY_WEBHOOK_ALLOW_PRIVATE.
"""

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from certify_contract.webhooks import DELIVERY_HEADER, EVENT_HEADER
from certify_testkit.processes import free_port, start_api, start_worker, stop, wait_for
from certify_testkit.webhook_receiver import Behaviour, Receiver
from tests.service.platform_fixture import KEY_A, Platform
from tests.service.test_resilience import _kill_worker_running

pytestmark = pytest.mark.integration
SMALL = {"n0": "10", "n": "100", "batch_size": "100"}


@pytest.fixture
def http(platform: Platform) -> Iterator[httpx.Client]:
    with platform.client() as client:
        yield client


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    from tests.service.platform_fixture import SECRET

    hook = Receiver(free_port(), SECRET).start()
    try:
        yield hook
    finally:
        hook.stop()


def submit(http: httpx.Client, png: bytes, callback: str, **fields: str) -> str:
    answer = http.post("/certify", data={**SMALL, **fields, "callback_url": callback},
                       files={"file": ("boot.png", png)})
    assert answer.status_code == 202, answer.text
    return str(answer.json()["job_id"])


def delivery(http: httpx.Client, job_id: str, until: tuple[str, ...], timeout: float = 60
             ) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        record = http.get(f"/jobs/{job_id}").json().get("webhook") or {}
        if record.get("state") in until:
            return dict(record)
        assert time.monotonic() < deadline, record
        time.sleep(0.1)


def test_job_webhook_is_signed_and_recorded(http: httpx.Client, receiver: Receiver,
                                            sample_png: bytes) -> None:
    job_id = submit(http, sample_png, receiver.url)
    record = delivery(http, job_id, ("delivered",))
    (got,) = receiver.wait_for(1, 10)
    assert got.verified and got.path == "/hook"
    assert got.headers[EVENT_HEADER] == "job.ended"
    assert got.headers[DELIVERY_HEADER] == record["delivery_id"]
    body = json.loads(got.body)
    assert body["job_id"] == job_id and body["status"] == "succeeded"
    assert body["result"]["radius"] == http.get(f"/jobs/{job_id}").json()["result"]["radius"]
    assert (record["attempts"], record["last_status"]) == (1, 200)


def test_batch_webhook_fires_once_when_the_last_job_ends(
    http: httpx.Client, receiver: Receiver, sample_png: bytes,
) -> None:
    answer = http.post("/batches", data={**SMALL, "callback_url": receiver.url},
                       files=[("file", (f"{i}.png", sample_png)) for i in range(3)])
    batch_id = answer.json()["batch_id"]
    received = receiver.wait_for(1, 60)
    assert len(received) == 1 and received[0].verified
    assert received[0].headers[EVENT_HEADER] == "batch.ended"
    body = json.loads(received[0].body)
    assert (body["batch_id"], body["status"], body["counts"]["succeeded"]) == (batch_id, "ended", 3)
    time.sleep(1.0)
    assert len(receiver.received) == 1  # neither the worker nor GET /batches sent it again
    view = http.get(f"/batches/{batch_id}").json()
    assert view["webhook"]["state"] == "delivered"


def test_receiver_down_then_up_gets_it_once_within_the_retry_budget(
    http: httpx.Client, sample_png: bytes,
) -> None:
    from tests.service.platform_fixture import SECRET

    port = free_port()
    job_id = submit(http, sample_png, f"http://127.0.0.1:{port}/hook")
    failing = delivery(http, job_id, ("pending",))
    assert failing["last_error"] and "Connect" in failing["last_error"]
    time.sleep(1.5)  # down through the first retries (1 s, then 2 s later)
    receiver = Receiver(port, SECRET).start()
    try:
        record = delivery(http, job_id, ("delivered",), timeout=40)
        received = receiver.wait_for(1, 5)
        time.sleep(1.0)
        assert len(receiver.received) == 1 and received[0].verified
        assert received[0].headers[DELIVERY_HEADER] == failing["delivery_id"] == \
            record["delivery_id"]
        assert record["attempts"] >= 2
    finally:
        receiver.stop()


def test_slow_receiver_times_out_and_the_retry_carries_the_same_delivery_id(
    http: httpx.Client, receiver: Receiver, sample_png: bytes,
) -> None:
    # The first answer takes 2.5 s, over the 1 s delivery timeout; later ones are at once.
    receiver.behaviour = Behaviour(lambda n: (200, 2.5 if n == 0 else 0.0, {}))
    job_id = submit(http, sample_png, receiver.url)
    record = delivery(http, job_id, ("delivered",), timeout=30)
    assert record["attempts"] == 2
    ids = {got.headers[DELIVERY_HEADER] for got in receiver.received}
    # The receiver saw the body twice, both times under one delivery id: it can drop the copy.
    assert len(receiver.received) == 2 and ids == {record["delivery_id"]}


def test_a_redirect_is_not_followed(http: httpx.Client, receiver: Receiver,
                                    sample_png: bytes) -> None:
    receiver.behaviour = Behaviour(lambda n: (
        302, 0.0, {"Location": "http://169.254.169.254/latest/meta-data/"}))
    job_id = submit(http, sample_png, receiver.url)
    record = delivery(http, job_id, ("pending", "failed"))
    assert record["last_status"] == 302 and record["last_error"] == "HTTP 302"
    assert [got.path for got in receiver.received] == ["/hook"]


@pytest.mark.parametrize(("url", "words"), [
    ("ftp://127.0.0.1/hook", "Only http and https"),
    ("http://169.254.169.254/latest/meta-data/", "not in CERTIFY_WEBHOOK_ALLOWED_HOSTS"),
    ("http://10.0.0.7/hook", "not in CERTIFY_WEBHOOK_ALLOWED_HOSTS"),
    ("http://user:pw@127.0.0.1/hook", "credentials"),
    ("http://127.0.0.1:99999/hook", "valid URL"),
])
def test_callback_urls_outside_the_policy_are_refused_at_submission(
    http: httpx.Client, sample_png: bytes, url: str, words: str,
) -> None:
    for path, files in [("/certify", {"file": ("a.png", sample_png)}),
                        ("/batches", [("file", ("a.png", sample_png))])]:
        answer = http.post(path, data={**SMALL, "callback_url": url}, files=files)
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"] == "invalid_callback_url"
        assert words in answer.json()["detail"]


def test_a_job_whose_worker_was_killed_still_calls_back(
    platform: Platform, receiver: Receiver, sample_png: bytes, logs: Path,
) -> None:
    """No retry left: the job fails as `worker_lost` in a registry cleanup, and says so."""
    no_retry = {**platform.env, "CERTIFY_JOB_RETRIES": "0"}
    port = free_port()
    api = start_api(no_retry, port, logs / "platform-api-no-retry.log")
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}",
                          headers={"X-API-Key": KEY_A}) as http:
            job_id = submit(http, sample_png, receiver.url, n="3000", batch_size="100")
            wait_for(lambda: (http.get(f"/jobs/{job_id}").json().get("progress") or {}).get(
                "done", 0) > 0, 60, "the job to make progress")
            _kill_worker_running(job_id, platform.redis_url)
            record = delivery(http, job_id, ("delivered",), timeout=60)
            (got,) = receiver.wait_for(1, 10)
            body = json.loads(got.body)
            assert body["status"] == "failed" and body["error"]["error"] == "worker_lost"
            assert got.headers[DELIVERY_HEADER] == record["delivery_id"] and got.verified
    finally:
        stop(api)
        # Give the platform its second worker back for the tests that need two.
        platform.processes.append(start_worker(platform.env, logs / "platform-worker-2.log"))
        wait_for(lambda: httpx.get(f"{platform.url}/readyz", headers={"X-API-Key": KEY_A}
                                   ).json().get("workers") == 2, 120, "two workers again")


def test_the_delivery_worker_stops_quietly_when_redis_is_already_gone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A warm stop after Redis went away logs one warning, not a traceback."""
    from redis import Redis
    from rq import Queue
    from rq.serializers import JSONSerializer

    from app.webhooks.worker import DeliveryJob, DeliveryWorker
    from certify_testkit.processes import start_redis

    port = free_port()
    redis_process = start_redis(port, tmp_path)
    try:
        connection = Redis(port=port, socket_connect_timeout=1)
        queue = Queue("webhooks", connection=connection, serializer=JSONSerializer)
        worker = DeliveryWorker([queue], connection=connection, serializer=JSONSerializer,
                                job_class=DeliveryJob)
        worker.register_birth()
    finally:
        stop(redis_process)
    with caplog.at_level("WARNING"):
        worker.teardown()
    assert "Teardown incomplete, Redis trouble" in caplog.text
