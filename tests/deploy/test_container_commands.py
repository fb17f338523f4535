"""The containers' own commands, run natively: Redis, API and worker as compose and the images say.

The Redis command line, the services' environments (from `docker-compose
config` with the CPU override) and the images' CMD and HEALTHCHECK (from
BuildKit's parse of the Dockerfiles) are started here as plain processes,
with only hosts, ports and the model directory swapped for local ones. A job
then runs end to end, and the test reads what operations would read: both
metrics endpoints and the JSON log lines.
"""

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from certify_testkit.model_fixture import write_test_model
from certify_testkit.processes import REPO, free_port, poll_job, start, stop, wait_for
from tests.deploy.tools import TEST_PASSWORD, compose_config, instructions, last
from tests.service.conftest import SAMPLE

pytestmark = pytest.mark.integration
API_KEY = "deploy-test-key-5c1e"


def native(argv: tuple[str, ...] | list[str], swaps: dict[str, str]) -> list[str]:
    """A container argv run here: `python` is this interpreter, hosts and ports are local."""
    out = [sys.executable if part == "python" else swaps.get(part, part) for part in argv]
    for old, new in swaps.items():
        if ":" in old:  # host:port inside a longer argument (a health check's URL)
            out = [part.replace(old, new) for part in out]
    return out


def native_env(service: dict[str, Any], swaps: dict[str, str]) -> dict[str, str]:
    env = {key: str(value) for key, value in service["environment"].items()}
    for key, value in env.items():
        for old, new in swaps.items():
            value = value.replace(old, new)
        env[key] = value
    return {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", **env}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    config = compose_config("docker-compose.yml", "docker-compose.cpu.yml",
                            CERTIFY_WORKER_MODELS="test-cnn", CERTIFY_DEFAULT_IMAGE_MODEL="test-cnn",
                            CERTIFY_API_KEYS=API_KEY)
    services = config["services"]
    root = tmp_path_factory.mktemp("stack")
    redis_port, api_port, metrics_port = free_port(), free_port(), free_port()
    swaps = {"redis:6379": f"127.0.0.1:{redis_port}", "/models": str(write_test_model(root)),
             "0.0.0.0": "127.0.0.1", "8000": str(api_port), "9100": str(metrics_port),
             "127.0.0.1:8000": f"127.0.0.1:{api_port}",  # what the API's health check calls
             "/run/secrets/signing-keys": str(root / "keys"), "/data": str(root / "data")}
    redis_argv = [*services["redis"]["command"], "--port", str(redis_port), "--bind", "127.0.0.1",
                  "--dir", str(root)]
    processes = [start(redis_argv, {}, root / "redis.log")]
    try:
        aof = (root / "appendonlydir", root / "appendonly.aof")  # Redis >= 7, Redis 6
        wait_for(lambda: any(path.exists() for path in aof), 10, "redis AOF", processes[0])
        worker_env = native_env(services["worker-cpu"], swaps)
        worker_cmd = last(instructions("worker.Dockerfile"), "CMD").value
        processes.append(start(native(worker_cmd, swaps), worker_env, root / "worker.log"))
        api_env = native_env(services["api"], swaps)
        api_cmd = last(instructions("api.Dockerfile"), "CMD").value
        processes.append(start(native(api_cmd, swaps), api_env, root / "api.log"))
        url = f"http://127.0.0.1:{api_port}"
        wait_for(lambda: _ready(url), 120, "API and worker ready", processes[-1])
        yield {"url": url, "metrics": f"http://127.0.0.1:{metrics_port}/metrics", "root": root,
               "env": {"api": api_env, "worker": worker_env}, "swaps": swaps}
    finally:
        for process in reversed(processes):
            stop(process, timeout=30)


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _health_checks_pass(stack: dict[str, Any]) -> None:
    for image, service in (("api.Dockerfile", "api"), ("worker.Dockerfile", "worker")):
        check = last(instructions(image), "HEALTHCHECK").value
        assert check[0] == "CMD"
        done = subprocess.run(native(check[1:], stack["swaps"]), env=stack["env"][service],
                              cwd=REPO, capture_output=True, timeout=30, check=False)
        assert done.returncode == 0, (image, done.stderr)


def _metric(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    raise AssertionError(f"{name}{labels} not exposed")


def _json_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]


def test_a_job_through_the_containers_commands(stack: dict[str, Any]) -> None:
    sample_png = SAMPLE.read_bytes()
    _health_checks_pass(stack)
    with httpx.Client(base_url=stack["url"], headers={"X-API-Key": API_KEY}) as client:
        job = client.post("/certify", files={"file": ("a.png", sample_png)},
                          data={"n": "500", "n0": "20", "batch_size": "100"}).json()
        assert poll_job(client, job["job_id"])["status"] == "succeeded"
        api_text = client.get("/metrics").text
    job_id = job["job_id"]
    assert _metric(api_text, "certify_api_requests_total", route="/certify", status="202") == 1
    assert _metric(api_text, "certify_api_requests_total", route="/jobs/{job_id}",
                   status="200") >= 1
    assert _metric(api_text, "certify_api_request_duration_seconds_count", route="/certify") == 1
    assert _metric(api_text, "certify_queue_depth") == 0
    assert _metric(api_text, "certify_queue_oldest_job_age_seconds") == 0
    assert _metric(api_text, "certify_workers") == 1
    worker_text = httpx.get(stack["metrics"]).text
    labels = {"model": "test-cnn", "method": "cohen"}
    assert _metric(worker_text, "certify_worker_jobs_total", outcome="succeeded", **labels) == 1
    assert _metric(worker_text, "certify_worker_certification_duration_seconds_count",
                   **labels) == 1
    assert _metric(worker_text, "certify_worker_samples_total", **labels) == 520
    assert _metric(worker_text, "certify_worker_samples_per_second", **labels) > 0
    assert _metric(worker_text, "certify_worker_model_evaluations_per_second", **labels) > 0
    _job_logs_carry_the_id(stack["root"], job_id, sample_png)


def _job_logs_carry_the_id(root: Path, job_id: str, sample_png: bytes) -> None:
    worker_lines = [line for line in _json_lines(root / "worker.log")
                    if line.get("job_id") == job_id]
    events = {line["event"]: line for line in worker_lines}
    assert {"job_started", "job_ended"} <= set(events)
    ended = events["job_ended"]
    assert ended["model"] == "test-cnn" and ended["method"] == "cohen"
    assert ended["outcome"] == "succeeded" and ended["duration_s"] > ended["certify_s"] > 0
    queued = [line for line in _json_lines(root / "api.log") if line.get("job_id") == job_id]
    assert [line["event"] for line in queued] == ["job_queued"]
    everything = b"".join((root / name).read_bytes() for name in ("worker.log", "api.log"))
    for secret in (API_KEY, TEST_PASSWORD):
        assert secret.encode() not in everything
    assert sample_png[:16] not in everything and b"\\x89PNG" not in everything
