"""A full Redis answers 503 redis_full; uploads are freed when their last job ends."""

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from certify_jobs.contract import ANONYMOUS
from certify_store.blobs import BlobStore
from certify_testkit.faults import distinct_png
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
LONG = {"n": "1000000", "n0": "10", "batch_size": "100"}
SMALL = {"n": "10", "n0": "5"}


@pytest.fixture
def small_redis(
    tmp_path: Path, model_dir: Path, logs: Path
) -> Iterator[tuple[httpx.Client, redis.Redis, Path]]:
    """A worker and an API on a private Redis of 8 MB that refuses writes when full."""
    port = free_port()
    server = start_redis(port, tmp_path, "--maxmemory", "8mb", "--maxmemory-policy", "noeviction")
    env = service_env(f"redis://127.0.0.1:{port}/0", model_dir, CERTIFY_UPLOAD_RETENTION="0",
                      CERTIFY_DATA_DIR=str(tmp_path / "data"))
    api_port, api_log = free_port(), logs / "full-api.log"
    processes = [server, start_worker(env, logs / "full-worker.log")]
    try:
        processes.append(start_api(env, api_port, api_log))
        with httpx.Client(base_url=f"http://127.0.0.1:{api_port}", timeout=30) as client:
            wait_for(lambda: client.get("/readyz").status_code == 200, 90, "ready", processes[1])
            yield client, redis.Redis(port=port), api_log
    finally:
        for process in reversed(processes):
            stop(process)


def _post(client: httpx.Client, image: bytes, **fields: str) -> httpx.Response:
    return client.post("/certify", files={"file": ("a.png", image)}, data=fields)


def test_an_upload_is_freed_when_the_last_job_needing_it_ends(
    small_redis: tuple[httpx.Client, redis.Redis, Path], tmp_path: Path,
) -> None:
    client, _, _ = small_redis
    blobs = BlobStore(tmp_path / "data" / "uploads")  # retention 0: freed as the last job ends
    image = distinct_png(10_001)
    key = BlobStore.key(ANONYMOUS, image)
    done = poll_job(client, _post(client, image, **SMALL).json()["job_id"])
    assert done["status"] == "succeeded"
    assert not blobs.exists(key) and not blobs.holders(key)

    # Two jobs share one stored upload: it stays while either still needs it.
    running = _post(client, image, **LONG).json()["job_id"]
    poll_job(client, running, until=("running",))
    queued = _post(client, image, **SMALL).json()["job_id"]
    client.delete(f"/jobs/{queued}")  # canceled before it ran
    assert poll_job(client, queued)["status"] == "canceled"
    assert blobs.exists(key) and blobs.holders(key) == {running}
    client.delete(f"/jobs/{running}")
    assert poll_job(client, running)["status"] == "canceled"
    assert not blobs.exists(key) and not blobs.holders(key)


def test_a_full_redis_answers_503_and_logs_why(
    small_redis: tuple[httpx.Client, redis.Redis, Path],
) -> None:
    client, connection, api_log = small_redis
    earlier = client.post("/certify", files={"file": ("a.png", distinct_png(10_003))},
                          data=SMALL).json()["job_id"]
    poll_job(client, earlier)
    # Full: maxmemory below what is in use (as when data grows past it); noeviction then
    # refuses every write that needs memory, whatever its size.
    full_at = int(connection.info("memory")["used_memory"]) - 64 * 1024
    connection.config_set("maxmemory", full_at)
    answer = _post(client, distinct_png(10_002), **SMALL)
    assert answer.status_code == 503, answer.text
    assert answer.json()["error"] == "redis_full" and answer.headers["retry-after"] == "30"
    lines = [json.loads(line) for line in api_log.read_text().splitlines()
             if '"redis_full"' in line]
    assert lines, "no redis_full log line"
    assert "OOM command not allowed" in lines[-1]["message"] or \
        "command not allowed when used memory" in lines[-1]["message"]
    assert f"maxmemory={full_at}" in lines[-1]["message"]
    # Reads still work while full, and once memory is freed the next submission is accepted.
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert client.get(f"/jobs/{earlier}").json()["status"] == "succeeded"
    connection.config_set("maxmemory", "8mb")
    accepted = _post(client, distinct_png(10_002), **SMALL)
    assert accepted.status_code == 202, accepted.text
    assert poll_job(client, accepted.json()["job_id"])["status"] == "succeeded"
