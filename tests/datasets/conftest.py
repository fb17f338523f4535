"""Models of three kinds and one running service for the data set tests."""

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import torch

from certify_core.models.architectures import fmnist_cnn
from certify_core.models.manifest import ModelManifest
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

CIFAR10_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                 "truck")
CIFAR100_NAMES = tuple(f"fine-{i}" for i in range(100))
MODELS = "test-cnn,test-video,rgb-cnn,rgb100-cnn"


def write_rgb_model(root: Path, name: str, class_names: tuple[str, ...]) -> None:
    """A 3-channel model that takes 28 x 28 centre crops of images resized to 32 on the short side."""
    directory = root / name
    directory.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(1)
    network = fmnist_cnn(num_classes=len(class_names), in_channels=3)
    torch.save(network.state_dict(), directory / "weights.pt")
    ModelManifest(
        name=name, format="state_dict", weights="weights.pt", input_shape=(3, 28, 28),
        class_names=class_names, sigma=0.25, architecture="fmnist_cnn",
        architecture_kwargs={"num_classes": len(class_names), "in_channels": 3},
        preprocessing={"resize": 32, "center_crop": 28},
    ).save(directory)


@pytest.fixture(scope="session")
def dataset_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = write_test_video_model(write_test_model(tmp_path_factory.mktemp("dataset-models")))
    write_rgb_model(root, "rgb-cnn", CIFAR10_NAMES)
    write_rgb_model(root, "rgb100-cnn", CIFAR100_NAMES)
    return root


@pytest.fixture(scope="session")
def dataset_service(dataset_models: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An API and one worker serving the four models, on a private Redis; yields the URL."""
    logs = tmp_path_factory.mktemp("dataset-logs")
    port = free_port()
    processes: list[subprocess.Popen[bytes]] = [start_redis(port, logs)]
    env = service_env(f"redis://127.0.0.1:{port}/0", dataset_models, CERTIFY_WORKER_MODELS=MODELS,
                      CERTIFY_DEFAULT_VIDEO_MODEL="test-video", CERTIFY_MAX_UPLOAD_BYTES="1000000")
    try:
        processes.append(start_worker(env, logs / "worker.log"))
        api_port = free_port()
        processes.append(start_api(env, api_port, logs / "api.log"))
        url = f"http://127.0.0.1:{api_port}"
        wait_for(lambda: httpx.get(f"{url}/readyz").status_code == 200, 120, "worker ready",
                 processes[1])
        yield url
    finally:
        for process in reversed(processes):
            stop(process)
