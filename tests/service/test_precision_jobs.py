"""Precision and compilation through the API and a worker that compiled before its first job.

The worker warms up bf16 + torch.compile at start (CERTIFY_WARM_UP) and says so in
GET /models; jobs in that mode then take a fraction of the compile time (a job that
compiled again would take at least as long as the warm-up), record their precision,
compile mode and batch shape, and the library re-run with the recorded seed gives
the same certificate.
"""

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import torch

from certify_core import CertifyOptions, certify, load_model
from certify_core.arithmetic import FORWARD_ROWS
from certify_media.images import decode_image
from certify_testkit.processes import (
    free_port,
    poll_job,
    service_env,
    start_api,
    start_worker,
    stop,
    wait_for,
)
from tests.service.test_bad_input import assert_error, post

pytestmark = [pytest.mark.integration, pytest.mark.slow]
COMPILED = {"precision": "bf16", "compile": "default", "n": "300", "n0": "20"}


@pytest.fixture(scope="module")
def compiled_client(redis_base: str, model_dir: Path, logs: Path) -> Iterator[httpx.Client]:
    env = service_env(f"{redis_base}/7", model_dir, CERTIFY_WARM_UP="bf16:default")
    worker = start_worker(env, logs / "precision-worker.log")
    processes: list[subprocess.Popen[bytes]] = [worker]
    try:
        port = free_port()
        processes.append(start_api(env, port, logs / "precision-api.log"))
        url = f"http://127.0.0.1:{port}"
        # The worker is ready only after compiling (a minute or more on a busy machine).
        wait_for(lambda: httpx.get(f"{url}/readyz").status_code == 200, 400, "worker ready", worker)
        with httpx.Client(base_url=url, timeout=30.0) as http:
            yield http
    finally:
        for process in reversed(processes):
            stop(process)


def test_the_worker_reports_its_warm_up_and_jobs_reuse_the_compiled_model(
    compiled_client: httpx.Client, sample_png: bytes, model_dir: Path
) -> None:
    (model,) = compiled_client.get("/models").json()["models"]
    warm = {(entry["precision"], entry["compile"]): entry for entry in model["warm"]}
    assert set(warm) == {("fp32", "off"), ("bf16", "default")}
    assert warm["bf16", "default"]["forward_rows"] == FORWARD_ROWS
    # Each warmed arithmetic was timed after compiling: a rate per arithmetic from the start.
    rates = {(t["precision"], t["compile"]): t["passes_per_s"] for t in model["throughput"]}
    assert set(rates) == set(warm) and all(rate > 0 for rate in rates.values()), rates
    compile_seconds = warm["bf16", "default"]["seconds"]
    certificates = []
    for _ in range(2):
        response = post(compiled_client, sample_png, **COMPILED)
        assert response.status_code == 202, response.text
        view = poll_job(compiled_client, response.json()["job_id"], timeout=300)
        assert view["status"] == "succeeded", view
        certificates.append(view["result"])
    for cert in certificates:
        assert (cert["precision"], cert["compile"], cert["forward_rows"]) == (
            "bf16", "default", FORWARD_ROWS)
        assert cert["elapsed_s"] < compile_seconds / 2, (cert["elapsed_s"], compile_seconds)
    # The re-check: the library, the same options and the recorded seed.
    local = load_model("test-cnn", torch.device("cpu"), (model_dir,))
    x = torch.from_numpy(decode_image(sample_png, (1, 28, 28)).array)
    options = CertifyOptions(n0=20, n=300, batch_size=7, precision="bf16", compile="default")
    again = certify(local, x, options, seed=certificates[0]["seed"])
    assert again.estimation_counts == certificates[0]["estimation_counts"]
    assert again.radius == certificates[0]["radius"]


def test_fp16_on_a_cpu_worker_fails_the_job_with_its_field(
    compiled_client: httpx.Client, sample_png: bytes
) -> None:
    response = post(compiled_client, sample_png, precision="fp16")
    assert response.status_code == 202, response.text
    view = poll_job(compiled_client, response.json()["job_id"])
    assert view["status"] == "failed"
    assert view["error"]["error"] == "invalid_option" and "CUDA" in view["error"]["detail"]


def test_an_unknown_precision_is_422(compiled_client: httpx.Client, sample_png: bytes) -> None:
    assert_error(post(compiled_client, sample_png, precision="int8"), 422, "invalid_option",
                 "precision")
