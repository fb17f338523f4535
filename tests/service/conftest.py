"""One shared API + worker on the local Redis (DB 12) for the service tests."""

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from tests.service.model_fixture import write_test_model, write_test_video_model
from tests.service.processes import free_port, service_env, start_api, start_worker, stop, wait_for

SHARED_REDIS = "redis://127.0.0.1:6379/12"
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
def service(model_dir: Path, logs: Path) -> Iterator[dict[str, object]]:
    """A running worker and API; yields their env, base URL and processes."""
    try:
        redis.Redis.from_url(SHARED_REDIS, socket_connect_timeout=1).flushdb()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"the service tests need Redis at {SHARED_REDIS}")
    env = service_env(SHARED_REDIS, model_dir, CERTIFY_WORKER_MODELS="test-cnn,test-video",
                      CERTIFY_DEFAULT_VIDEO_MODEL="test-video")
    worker = start_worker(env, logs / "worker.log")
    port = free_port()
    processes: list[subprocess.Popen[bytes]] = [worker]
    try:
        processes.append(start_api(env, port, logs / "api.log"))
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: httpx.get(f"{url}/readyz").status_code == 200, 90, "worker ready", worker)
        yield {"env": env, "url": url, "worker": worker}
    finally:
        for process in reversed(processes):
            stop(process)


@pytest.fixture
def client(service: dict[str, object]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=str(service["url"]), timeout=30.0) as http:
        yield http
