"""One shared API + worker on a private Redis for the service tests.

Private (its own redis-server on a free port) so that test runs of several
people on one machine cannot flush or steal each other's jobs.
"""

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from certify_testkit.model_fixture import write_test_model, write_test_video_model
from certify_testkit.processes import (
    free_port,
    service_env,
    start_api,
    start_redis,
    start_worker,
    stop,
    wait_for,
)
from tests.service.platform_fixture import Platform, running_platform

SAMPLE = Path(__file__).resolve().parents[2] / "certify_core" / "samples" / "fmnist-ankle-boot.png"


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_test_video_model(write_test_model(tmp_path_factory.mktemp("models")))


@pytest.fixture(scope="session")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("logs")


@pytest.fixture(scope="session")
def sample_png() -> bytes:
    return SAMPLE.read_bytes()


@pytest.fixture(scope="session")
def redis_base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`redis://127.0.0.1:PORT` of a private redis-server; tests pick their own DB."""
    port = free_port()
    process = start_redis(port, tmp_path_factory.mktemp("redis"))
    try:
        yield f"redis://127.0.0.1:{port}"
    finally:
        stop(process)


@pytest.fixture(scope="session")
def service(redis_base: str, model_dir: Path, logs: Path) -> Iterator[dict[str, object]]:
    """A running worker and API on DB 0; yields their env, base URL and processes."""
    redis_url = f"{redis_base}/0"
    env = service_env(redis_url, model_dir, CERTIFY_WORKER_MODELS="test-cnn,test-video",
                      CERTIFY_DEFAULT_VIDEO_MODEL="test-video")
    worker = start_worker(env, logs / "worker.log")
    port = free_port()
    processes: list[subprocess.Popen[bytes]] = [worker]
    try:
        processes.append(start_api(env, port, logs / "api.log"))
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: httpx.get(f"{url}/readyz").status_code == 200, 90, "worker ready", worker)
        yield {"env": env, "url": url, "worker": worker, "redis_url": redis_url}
    finally:
        for process in reversed(processes):
            stop(process)


@pytest.fixture
def client(service: dict[str, object]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=str(service["url"]), timeout=30.0) as http:
        yield http


@pytest.fixture(scope="session")
def platform(redis_base: str, model_dir: Path, logs: Path) -> Iterator[Platform]:
    """API (two keys), two workers and the webhook delivery worker on Redis DB 5."""
    yield from running_platform(redis_base, 5, model_dir, logs)
