"""docker-compose.yml and its CPU override, as docker-compose itself resolves them."""

from typing import Any

import pytest

from tests.deploy.tools import REPO, TEST_PASSWORD, compose_config, compose_env, compose_error

BASE = "docker-compose.yml"
CPU = "docker-compose.cpu.yml"


@pytest.fixture(scope="module")
def gpu() -> dict[str, Any]:
    return compose_config(BASE)


@pytest.fixture(scope="module")
def cpu() -> dict[str, Any]:
    return compose_config(BASE, CPU, CERTIFY_WORKER_MODELS="a,b")


def test_services_health_checks_and_restart_policies(gpu: dict[str, Any]) -> None:
    services = gpu["services"]
    assert set(services) == {"redis", "api", "worker", "webhooks"}
    for name, service in services.items():
        assert service["restart"] == "unless-stopped", name
        # A shell string (CMD-SHELL): podman-compose 1.0 joins a CMD list's words into one
        # word, and pops the list's first item in place, so a second replica's check fails.
        assert isinstance(service["healthcheck"]["test"], str), name
    assert services["api"]["healthcheck"]["test"].count("127.0.0.1:8000/healthz") == 1
    assert services["worker"]["healthcheck"]["test"] == "python -m worker.per_gpu --check"
    # redis-cli exits 0 on an authentication error too: the check wants the PONG.
    assert services["redis"]["healthcheck"]["test"] == "redis-cli ping | grep -q PONG"
    for name in ("api", "worker", "webhooks"):
        assert services[name]["depends_on"] == {"redis": {"condition": "service_healthy"}}
    # The delivery worker is the API's torch-free image with its own command and check.
    assert services["webhooks"]["image"] == services["api"]["image"]
    assert services["webhooks"]["command"] == ["python", "-m", "app.webhooks.worker"]
    assert services["webhooks"]["healthcheck"]["test"] == "python -m app.webhooks.worker --check"


def _flags(command: list[str]) -> dict[str, str]:
    assert command[0] == "redis-server"
    pairs = command[1:]
    return dict(zip(pairs[::2], pairs[1::2], strict=True))


def test_redis_is_persistent_bounded_and_password_protected(gpu: dict[str, Any]) -> None:
    redis = gpu["services"]["redis"]
    flags = _flags(redis["command"])
    assert flags["--appendonly"] == "yes" and flags["--appendfsync"] == "everysec"
    assert flags["--maxmemory-policy"] == "noeviction" and flags["--maxmemory"] == "2gb"
    assert flags["--requirepass"] == TEST_PASSWORD
    assert redis["environment"]["REDISCLI_AUTH"] == TEST_PASSWORD  # for the health check
    assert "redis-data:/data:rw" in redis["volumes"] and "redis-data" in gpu["volumes"]
    assert "ports" not in redis  # reachable from the project's network only


def test_api_and_workers_share_redis_url_with_password(gpu: dict[str, Any]) -> None:
    url = f"redis://:{TEST_PASSWORD}@redis:6379/0"
    api, worker = gpu["services"]["api"], gpu["services"]["worker"]
    assert api["environment"]["CERTIFY_REDIS_URL"] == url == worker["environment"][
        "CERTIFY_REDIS_URL"]
    assert api["ports"] == [{"published": 8000, "target": 8000}]
    assert api["build"]["dockerfile"] == "docker/api.Dockerfile"


def test_gpu_workers_reserve_devices_and_mount_the_model_volume(gpu: dict[str, Any]) -> None:
    worker = gpu["services"]["worker"]
    assert worker["build"]["dockerfile"] == "docker/worker.Dockerfile"
    assert worker["deploy"]["replicas"] == 1
    devices = worker["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "count": "all", "capabilities": ["gpu"]}]
    assert worker["environment"]["CERTIFY_MODEL_DIR"] == "/models"
    assert "models:/models:ro" in worker["volumes"] and "models" in gpu["volumes"]
    assert worker["environment"]["CERTIFY_WORKER_METRICS_PORT"] == "9100"


def test_replicas_and_models_come_from_the_environment() -> None:
    config = compose_config(BASE, CERTIFY_WORKER_REPLICAS="3", CERTIFY_WORKER_MODELS="m1,m2")
    worker = config["services"]["worker"]
    assert worker["deploy"]["replicas"] == 3
    assert worker["environment"]["CERTIFY_WORKER_MODELS"] == "m1,m2"


def test_cpu_override_runs_no_gpu_worker(cpu: dict[str, Any], gpu: dict[str, Any]) -> None:
    services = cpu["services"]
    assert services["worker"]["deploy"]["replicas"] == 0
    worker = services["worker-cpu"]
    assert "resources" not in worker.get("deploy", {})
    assert worker["environment"]["CERTIFY_DEVICE"] == "cpu"
    assert worker["environment"]["CERTIFY_WORKER_MODELS"] == "a,b"
    gpu_env = dict(gpu["services"]["worker"]["environment"])
    gpu_env.pop("CERTIFY_WORKER_MODELS")
    assert {k: v for k, v in worker["environment"].items() if k in gpu_env} == gpu_env
    assert sorted(worker["volumes"]) == sorted(gpu["services"]["worker"]["volumes"])
    for key in ("secrets", "healthcheck", "restart", "depends_on", "build"):
        assert worker[key] == gpu["services"]["worker"][key], key


def test_a_missing_redis_password_is_refused() -> None:
    env = compose_env()
    del env["CERTIFY_REDIS_PASSWORD"]
    assert "set CERTIFY_REDIS_PASSWORD" in compose_error(BASE, env=env)


def test_api_and_workers_share_the_data_volume_and_the_signing_keys(cpu: dict[str, Any]) -> None:
    services = cpu["services"]
    assert cpu["secrets"]["signing-keys"]["file"].endswith("/secrets/signing-keys")
    for name in ("api", "worker", "worker-cpu"):
        service = services[name]
        assert "certify-data:/data:rw" in service["volumes"], name
        assert service["secrets"] == [{"source": "signing-keys"}], name
        assert service["environment"]["CERTIFY_DATA_DIR"] == "/data", name
        assert service["environment"]["CERTIFY_SIGNING_KEYS_DIR"] == "/run/secrets/signing-keys"
    assert "certify-data" in cpu["volumes"]


def test_a_local_redis_image_can_stand_in() -> None:
    config = compose_config(BASE, CERTIFY_REDIS_IMAGE="localhost/certify-redis:bookworm")
    assert config["services"]["redis"]["image"] == "localhost/certify-redis:bookworm"


def test_no_empty_defaults_that_podman_compose_would_pass_literally() -> None:
    # podman-compose 1.0 substitutes `${NAME:-default}` only with a non-empty default: an
    # API key list of `${CERTIFY_API_KEYS:-}` reached the API as that very text.
    for name in (BASE, CPU):
        assert ":-}" not in (REPO / name).read_text(), name
