"""Jobs whose data is not JSON (pickled, garbage, an unparsable hash) on the queues.

Each is moved aside, never run or unpickled; the workers keep serving, every
read keeps answering, and the real job queued behind the poison ends.
"""

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from rq.exceptions import AbandonedJobError
from rq.job import Job
from rq.serializers import JSONSerializer

from certify_jobs.contract import ERROR_META
from certify_jobs.crashes import crash_recorder
from certify_jobs.unreadable import unreadable_key, why_unreadable
from certify_store.blobs import BlobStore
from certify_testkit.model_fixture import write_test_model
from certify_testkit.poison_jobs import POISON_KINDS, put_poison
from certify_testkit.processes import (
    free_port,
    poll_job,
    service_env,
    start_api,
    start_delivery_worker,
    start_redis,
    start_worker,
    stop,
    wait_for,
)

pytestmark = pytest.mark.integration
FAST = {"n": "20", "n0": "5", "batch_size": "20"}


@pytest.fixture
def poisoned(tmp_path: Path) -> Iterator[dict[str, object]]:
    """A private Redis, one worker, one delivery worker and an API."""
    port = free_port()
    processes = [start_redis(port, tmp_path)]
    env = service_env(f"redis://127.0.0.1:{port}/0", write_test_model(tmp_path / "models"))
    try:
        # The API first: its start has a deadline, and a worker's start (torch) slows it.
        api_port = free_port()
        processes.append(start_api(env, api_port, tmp_path / "api.log"))
        processes += [start_worker(env, tmp_path / "worker.log"),
                      start_delivery_worker(env, tmp_path / "delivery.log")]
        url = f"http://127.0.0.1:{api_port}"
        wait_for(lambda: httpx.get(f"{url}/readyz").status_code == 200, 90, "worker ready")
        yield {"url": url, "redis": redis.Redis(port=port), "workers": processes[2:4],
               "tmp": tmp_path}
    finally:
        for process in reversed(processes):
            stop(process)


def _reads_all_answer(client: httpx.Client, job_ids: list[str]) -> list[int]:
    statuses = [client.get(path).status_code for path in ("/jobs", "/readyz", "/metrics")]
    return statuses + [client.get(f"/jobs/{job_id}").status_code for job_id in job_ids]


def test_poison_jobs_are_moved_aside_and_the_service_keeps_serving(
    poisoned: dict[str, object], sample_png: bytes
) -> None:
    connection: redis.Redis = poisoned["redis"]  # type: ignore[assignment]
    marker = Path(str(poisoned["tmp"])) / "unpickled"
    queued = [put_poison(connection, "certify", kind, marker) for kind in POISON_KINDS]
    started = [put_poison(connection, "certify", kind, marker, started=True)
               for kind in POISON_KINDS]
    webhook = [put_poison(connection, "webhooks", kind, marker) for kind in POISON_KINDS]
    poisons = queued + started + webhook
    with httpx.Client(base_url=str(poisoned["url"]), timeout=30) as client:
        job = client.post("/certify", files={"file": ("a.png", sample_png)}, data=FAST).json()
        assert poll_job(client, job["job_id"], timeout=60)["status"] == "succeeded"
        # Past several maintenance intervals (1 s) and API sweeps (2 s): nothing else notices.
        wait_for(lambda: all(connection.exists(unreadable_key(j)) for j in poisons), 20,
                 "every poison job moved aside")
        for _ in range(10):
            assert _reads_all_answer(client, poisons) == [200, 200, 200] + [404] * len(poisons)
        assert all(process.poll() is None for process in poisoned["workers"])  # type: ignore[attr-defined]
        again = client.post("/certify", files={"file": ("b.png", sample_png)}, data=FAST).json()
        assert poll_job(client, again["job_id"], timeout=60)["status"] == "succeeded"
    assert not marker.exists(), "a pickled job was unpickled"
    for job_id in poisons:
        assert not connection.exists(f"rq:job:{job_id}")
        assert connection.hget(unreadable_key(job_id), "unreadable_reason")
    for queue in ("certify", "webhooks"):
        assert connection.llen(f"rq:queue:{queue}") == 0
        assert connection.llen(f"rq:queue:{queue}:intermediate") == 0
        assert connection.zcard(f"rq:wip:{queue}") == 0


@pytest.mark.parametrize("kind", ["pickled", "garbage"])
def test_crash_handlers_never_raise_on_an_unreadable_job(
    redis_base: str, tmp_path: Path, kind: str
) -> None:
    """rq calls them inside its own loops (a worker's failure path, registry cleanup), where an
    exception stopped the worker; they must record the crash without reading the job's data."""
    connection = redis.Redis.from_url(f"{redis_base}/12")
    connection.flushdb()
    job_id = put_poison(connection, "certify", kind, tmp_path / "unpickled")
    job = Job.fetch(job_id, connection=connection, serializer=JSONSerializer)
    assert why_unreadable(job) is not None
    assert crash_recorder(BlobStore(tmp_path / "uploads"), 0)(job, AbandonedJobError,
                                                               AbandonedJobError(), None)
    stored = Job.fetch(job_id, connection=connection, serializer=JSONSerializer)
    assert stored.meta[ERROR_META]["error"] == "worker_lost"
    assert not (tmp_path / "unpickled").exists()
