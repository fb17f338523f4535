"""/readyz, GET /models and POST /certify stop counting a dead worker within 15 s."""

import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from certify_testkit.processes import (
    free_port,
    poll_job,
    service_env,
    start_api,
    start_worker,
    stop,
    wait_for,
)

pytestmark = pytest.mark.integration
LONG = {"n": "1000000", "n0": "10", "batch_size": "100"}


def test_a_killed_worker_drops_out_within_15_s_and_its_model_answers_503(
    redis_base: str, model_dir: Path, logs: Path, sample_png: bytes
) -> None:
    # The default presence TTL (10 s), and rq's own liveness windows at their defaults too,
    # so that only the presence key can make the deadline.
    env = service_env(f"{redis_base}/2", model_dir, CERTIFY_WORKER_TTL_S="35",
                      CERTIFY_HEARTBEAT_TTL_S="60")
    worker = start_worker(env, logs / "ready-worker.log")
    port = free_port()
    api = start_api(env, port, logs / "ready-api.log")
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url, timeout=30) as client:
            wait_for(lambda: client.get("/readyz").status_code == 200, 90, "ready", worker)
            # A long job: its worker renews its presence while the job runs.
            job = client.post("/certify", files={"file": ("a.png", sample_png)}, data=LONG).json()
            poll_job(client, job["job_id"], until=("running",))
            time.sleep(12)
            assert client.get("/readyz").json() == {"status": "ready", "workers": 1}
            assert [m["name"] for m in client.get("/models").json()["models"]] == ["test-cnn"]

            os.kill(worker.pid, signal.SIGKILL)
            killed = time.monotonic()
            wait_for(lambda: client.get("/readyz").status_code == 503, 15, "readyz to fail")
            assert time.monotonic() - killed <= 15
            assert client.get("/readyz").json()["error"] == "no_workers"
            assert client.get("/models").json()["models"] == []
            # Its model was served a moment ago: 503 with a code and a hint, not a queued job.
            refused = client.post("/certify", files={"file": ("a.png", sample_png)})
            assert refused.status_code == 503 and refused.json()["error"] == "model_unavailable"
            assert refused.headers["retry-after"] == "10"
            # A model no worker ever served is still a client error.
            unknown = client.post("/certify", files={"file": ("a.png", sample_png)},
                                  data={"model": "never-served"})
            assert unknown.status_code == 422 and unknown.json()["error"] == "unknown_model"
    finally:
        stop(api)
        stop(worker)
