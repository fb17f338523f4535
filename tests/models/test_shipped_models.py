"""The shipped Fashion-MNIST models are what their manifests say they are."""

from pathlib import Path

import pytest
import torch

from certify_core.datasets import FASHION_MNIST_CLASSES, FASHION_MNIST_DIR, load_fashion_mnist
from certify_core.models import load_model, sha256_file
from certify_core.models.loading import DEFAULT_IMAGE_MODEL, ZOO_DIR
from certify_core.models.manifest import ModelManifest
from certify_core.training import accuracy

SHIPPED = ("fmnist-cnn-s012", "fmnist-cnn-s025", "fmnist-cnn-s050")
SUBSET = 2000
# The manifest's accuracies are measured on all 10,000 test images; a 2,000-image
# subset differs from them by sampling alone with a standard error of about
# sqrt(0.12 * 0.88 / 2000) = 0.007, so 0.03 is > 4 standard errors.
TOLERANCE = 0.03

needs_data = pytest.mark.skipif(
    not FASHION_MNIST_DIR.is_dir(), reason="apt-get install -y dataset-fashion-mnist"
)


def _shipped() -> list[str]:
    return [name for name in SHIPPED if (ZOO_DIR / name / "manifest.json").is_file()]


def test_default_model_is_shipped() -> None:
    assert DEFAULT_IMAGE_MODEL in _shipped()


@pytest.mark.parametrize("name", _shipped())
def test_weights_match_manifest_sha256(name: str) -> None:
    manifest = ModelManifest.load(ZOO_DIR / name / "manifest.json")
    weights = ZOO_DIR / name / manifest.weights
    assert sha256_file(weights) == manifest.sha256
    assert weights.stat().st_size < 5 * 2**20  # a few MB at most
    assert manifest.class_names == FASHION_MNIST_CLASSES
    assert "patch view" in manifest.training["augmentation"]


@needs_data
@pytest.mark.slow
@pytest.mark.parametrize("name", _shipped())
def test_accuracy_matches_manifest(name: str) -> None:
    torch.set_num_threads(min(2, torch.get_num_threads()))
    model = load_model(name)
    recorded = model.manifest.training
    images, labels = load_fashion_mnist("test").tensors(0, SUBSET)
    sigma = float(model.manifest.sigma or 0.0)
    seed = int(recorded["noise_seed"])
    with torch.inference_mode():
        clean = accuracy(model.module, images, labels, 0.0, seed)
        noisy = accuracy(model.module, images, labels, sigma, seed)
    assert clean == pytest.approx(recorded["clean_accuracy"], abs=TOLERANCE)
    assert noisy == pytest.approx(recorded["noisy_accuracy"], abs=TOLERANCE)


def test_zoo_directory_is_inside_the_package() -> None:
    assert Path(ZOO_DIR).parent.name == "certify_core"
