"""Fixtures shared across test packages."""

from collections.abc import Iterator
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


@pytest.fixture(scope="session", autouse=True)
def private_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Records, uploads and keys of in-process apps and commands go to a folder of the test
    session, never to the user's data directory (`CERTIFY_DATA_DIR`'s default)."""
    folder = tmp_path_factory.mktemp("certify-data")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CERTIFY_DATA_DIR", str(folder))
        yield folder


@pytest.fixture(scope="session")
def random_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory of registered models holding `tiny-cnn`."""
    root = tmp_path_factory.mktemp("models")
    write_random_cnn(root / "tiny-cnn")
    return root
