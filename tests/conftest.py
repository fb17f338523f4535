"""Fixtures shared across test packages."""

from pathlib import Path

import pytest
import torch

from certify_core.models import ModelManifest, Normalization, sha256_file
from certify_core.models.architectures import fmnist_cnn

FMNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                  "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


def write_random_cnn(directory: Path, name: str = "tiny-cnn", seed: int = 0) -> Path:
    """A real fmnist_cnn model directory with random weights and a manifest."""
    directory.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    torch.save(fmnist_cnn().state_dict(), directory / "weights.pt")
    ModelManifest(
        name, "state_dict", "weights.pt", (1, 28, 28), FMNIST_CLASSES, 0.25,
        architecture="fmnist_cnn", normalization=Normalization((0.286,), (0.353,)),
        sha256=sha256_file(directory / "weights.pt"),
    ).save(directory)
    return directory


@pytest.fixture(scope="session")
def random_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory of registered models holding `tiny-cnn`."""
    root = tmp_path_factory.mktemp("models")
    write_random_cnn(root / "tiny-cnn")
    return root
