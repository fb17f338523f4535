"""The light client against a real API, worker and Redis: typed results, errors, retries."""

import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from certify_client import (
    ApiError,
    CertifyClient,
    InvalidOptionError,
    RetryPolicy,
    ServiceUnreachable,
)
from certify_contract import Certificate, ErrorBody, ImageInput
from certify_testkit.processes import (
    free_port,
    service_env,
    start,
    start_api,
    start_worker,
    stop,
    wait_for,
)
from tests.service.conftest import SAMPLE

pytestmark = pytest.mark.integration
SMALL = {"n": 200, "n0": 20, "batch_size": 50}


@pytest.fixture
def api(service: dict[str, object]) -> Iterator[CertifyClient]:
    with CertifyClient(str(service["url"])) as client:
        yield client


def test_submit_wait_and_read_a_typed_certificate(api: CertifyClient) -> None:
    job = api.submit(SAMPLE, options=SMALL)
    assert job.status == "queued" and len(job.idempotency_key) == 32
    seen: list[str] = []
    view = api.wait(job.job_id, on_progress=lambda v: seen.append(v.status))
    assert view.status == "succeeded" and seen[-1] == "succeeded"
    assert isinstance(view.result, Certificate) and isinstance(view.result.input, ImageInput)
    assert view.result.n == 200 and view.result.input.shape == [1, 28, 28]
    assert view.progress is not None and view.progress.done == view.progress.total == 220
    assert api.job(job.job_id) == view
    listed = api.jobs(status="succeeded", limit=200)
    assert job.job_id in {v.job_id for v in listed.jobs}


def test_the_same_idempotency_key_gives_the_same_job(api: CertifyClient) -> None:
    first = api.submit(SAMPLE, options=SMALL, idempotency_key="client-test-key-1")
    again = api.submit(SAMPLE.read_bytes(), filename="x.png", options=SMALL,
                       idempotency_key="client-test-key-1")
    assert again.job_id == first.job_id


def test_cancel_and_coded_errors(api: CertifyClient) -> None:
    running = api.submit(SAMPLE, options={"n": 1_000_000, "batch_size": 100})
    wait_for(lambda: api.job(running.job_id).progress is not None, 60, "the long job to start")
    assert api.cancel(running.job_id).cancel_requested
    ended = api.wait(running.job_id, timeout_s=30)
    assert ended.status == "canceled" and ended.error == ErrorBody("canceled", ended.error.detail)

    with pytest.raises(ApiError) as missing:
        api.job("0" * 32)
    assert missing.value.status_code == 404 and missing.value.code == "job_not_found"
    with pytest.raises(ApiError) as refused:
        api.submit(b"not an image at all", filename="a.png")
    assert refused.value.status_code == 415 and refused.value.code == "unsupported_media_type"
    with pytest.raises(InvalidOptionError, match="`n` to be an integer >= 1"):
        api.submit(SAMPLE, options={"n": 0})  # refused before anything is sent
    with pytest.raises(InvalidOptionError, match="Unknown options"):
        api.submit(SAMPLE, options={"sigam": 0.5})


def test_an_unreachable_api_is_reported_after_the_retries() -> None:
    tries: list[int] = []
    client = CertifyClient(f"http://127.0.0.1:{free_port()}",
                           retry=RetryPolicy(attempts=3, first_delay_s=0.01),
                           on_retry=lambda attempt, request, failure: tries.append(attempt))
    with client, pytest.raises(ServiceUnreachable, match="Cannot reach the API"):
        client.job("0" * 32)
    assert tries == [1, 2]


def start_aof_redis(port: int, workdir: Path, log: Path) -> subprocess.Popen[bytes]:
    from certify_cli.embedded import find_redis_server
    from certify_testkit.processes import _redis_up

    process = start([find_redis_server(), "--port", str(port), "--bind", "127.0.0.1", "--dir",
                     str(workdir), "--appendonly", "yes", "--save", ""], {}, log)
    wait_for(lambda: _redis_up(port), 10, "redis start", process)
    return process


def test_a_submission_rides_out_a_redis_restart_with_one_idempotency_key(
    model_dir: Path, logs: Path, tmp_path: Path,
) -> None:
    """503 while Redis is away: retried with the same key, accepted once Redis is back."""
    port = free_port()
    redis = start_aof_redis(port, tmp_path, logs / "retry-redis.log")
    env = service_env(f"redis://127.0.0.1:{port}/0", model_dir)
    api_port = free_port()
    worker = start_worker(env, logs / "retry-worker.log")
    processes = [redis, worker]
    try:
        processes.append(start_api(env, api_port, logs / "retry-api.log"))
        url = f"http://127.0.0.1:{api_port}"
        wait_for(lambda: httpx.get(f"{url}/readyz").status_code == 200, 90, "worker ready", worker)
        stop(redis)  # a clean shutdown writes the append-only file: the worker's models survive
        first_retry, attempts = threading.Event(), []

        def on_retry(attempt: int, request: httpx.Request, failure: object) -> None:
            status = failure.status_code if isinstance(failure, httpx.Response) else "no answer"
            attempts.append((request.headers["Idempotency-Key"], status))
            first_retry.set()

        result: list[object] = []
        client = CertifyClient(url, retry=RetryPolicy(attempts=60, first_delay_s=0.1,
                                                      max_delay_s=0.5), on_retry=on_retry)
        submitting = threading.Thread(target=lambda: result.append(client.submit(SAMPLE, options=SMALL)))
        submitting.start()
        assert first_retry.wait(30), "the client never retried"
        processes[0] = start_aof_redis(port, tmp_path, logs / "retry-redis.log")
        submitting.join(60)
        assert result, "the submission did not finish"
        job = result[0]
        assert {status for _, status in attempts} == {503}
        assert {key for key, _ in attempts} == {job.idempotency_key}  # type: ignore[attr-defined]
        again = client.submit(SAMPLE, options=SMALL, idempotency_key=job.idempotency_key)  # type: ignore[attr-defined]
        assert again.job_id == job.job_id  # type: ignore[attr-defined]
        client.close()
    finally:
        for process in reversed(processes):
            stop(process)
