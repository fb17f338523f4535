"""A worker killed mid-job, and Redis going away and coming back."""

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from rq import Worker

from certify_testkit.processes import (
    free_port,
    poll_job,
    service_env,
    start_api,
    start_redis,
    start_worker,
    stop,
    wait_for,
)

pytestmark = pytest.mark.integration
MEDIUM = {"n": "3000", "n0": "20", "batch_size": "100"}


def _kill_worker_running(job_id: str, redis_url: str) -> int:
    connection = redis.Redis.from_url(redis_url)
    for worker in Worker.all(connection=connection):
        if worker.get_current_job_id() == job_id:
            os.kill(worker.pid, signal.SIGKILL)
            return int(worker.pid)
    raise AssertionError(f"no worker is running {job_id}")


def _submit_and_kill(client: httpx.Client, sample_png: bytes, redis_url: str) -> tuple[str, int]:
    job = client.post("/certify", files={"file": ("a.png", sample_png)}, data=MEDIUM).json()
    job_id = job["job_id"]
    wait_for(lambda: (client.get(f"/jobs/{job_id}").json().get("progress") or {}).get("done", 0)
             > 0, 60, "the job to make progress")
    return job_id, _kill_worker_running(job_id, redis_url)


@pytest.fixture
def kill_redis(redis_base: str) -> str:
    return f"{redis_base}/1"


@pytest.fixture
def two_workers(
    kill_redis: str, model_dir: Path, logs: Path
) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    """Two workers, an API that retries lost jobs once and one that never retries."""
    env = service_env(kill_redis, model_dir)
    processes = [start_worker(env, logs / "kill-w1.log"), start_worker(env, logs / "kill-w2.log")]
    ports = free_port(), free_port()
    try:
        processes.append(start_api(env, ports[0], logs / "kill-api.log"))
        no_retry = {**env, "CERTIFY_JOB_RETRIES": "0"}
        processes.append(start_api(no_retry, ports[1], logs / "kill-api-no-retry.log"))
        with httpx.Client(base_url=f"http://127.0.0.1:{ports[0]}") as retrying, \
                httpx.Client(base_url=f"http://127.0.0.1:{ports[1]}") as failing:
            wait_for(lambda: retrying.get("/readyz").json().get("workers") == 2, 90, "2 workers")
            yield retrying, failing
    finally:
        for process in processes:
            stop(process)


def test_killed_worker_job_is_retried_then_failed_with_a_reason(
    two_workers: tuple[httpx.Client, httpx.Client], kill_redis: str, sample_png: bytes
) -> None:
    retrying, failing = two_workers
    job_id, _ = _submit_and_kill(retrying, sample_png, kill_redis)
    retried = poll_job(retrying, job_id, timeout=90)
    assert retried["status"] == "succeeded" and retried["attempts"] == 2, retried

    # Without retries left the job must not stay "running": it fails and says why.
    job_id, _ = _submit_and_kill(failing, sample_png, kill_redis)
    lost = poll_job(failing, job_id, timeout=60)
    assert lost["status"] == "failed" and lost["error"]["error"] == "worker_lost", lost


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    port = free_port()
    process = start_redis(port, tmp_path)
    try:
        yield port, tmp_path
    finally:
        stop(process)


def test_redis_outage_gives_503_and_the_api_recovers(
    own_redis: tuple[int, Path], model_dir: Path, logs: Path, sample_png: bytes
) -> None:
    port, workdir = own_redis
    env = service_env(f"redis://127.0.0.1:{port}/0", model_dir)
    api_port = free_port()
    api = start_api(env, api_port, logs / "outage-api.log")
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{api_port}") as client:
            assert client.get("/jobs").status_code == 200
            redis.Redis(port=port).shutdown(nosave=True)
            for response in (client.get("/readyz"), client.get("/models"),
                             client.post("/certify", files={"file": ("a.png", sample_png)})):
                assert response.status_code == 503, response.text
                assert response.json()["error"] == "redis_unavailable"
            # The list is the record database's: it answers while Redis is away.
            assert client.get("/jobs").status_code == 200
            assert client.get("/healthz").status_code == 200
            restarted = start_redis(port, workdir)
            try:
                wait_for(lambda: client.get("/jobs").status_code == 200, 20, "recovery")
                assert client.get("/models").json()["models"] == []
            finally:
                stop(restarted)
    finally:
        stop(api)


def test_a_job_over_its_time_limit_fails_with_a_reason(
    service: dict[str, object], logs: Path, sample_png: bytes
) -> None:
    env = {**service["env"], "CERTIFY_JOB_TIMEOUT_S": "2"}  # type: ignore[dict-item]
    port = free_port()
    api = start_api(env, port, logs / "timeout-api.log")
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            job = client.post("/certify", files={"file": ("a.png", sample_png)},
                              data={"n": "1000000", "batch_size": "100"}).json()["job_id"]
            view = poll_job(client, job, timeout=30)
            assert view["status"] == "failed" and view["error"]["error"] == "job_timeout", view
            # The worker survived its own alarm and takes the next job.
            after = client.post("/certify", files={"file": ("a.png", sample_png)},
                                data={"n": "100", "n0": "10"}).json()["job_id"]
            assert poll_job(client, after)["status"] == "succeeded"
    finally:
        stop(api)
