"""Train noise-robust base classifiers for randomized smoothing and Smooth-Reduce.

Each training image gets Gaussian noise in [0, 1] pixel space (the space the
certifier adds noise in) and then, with probability `view_probability`, the
Smooth-Reduce patch view: a bilinear up-scale to `view_resize` and a random
crop back to the input size. Noise comes first because at certification time
(shared noise) the view is applied to the noisy image; a model that never saw
such views is out of distribution on them and certifies less.
"""

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from certify_core.datasets import LabeledDataset
from certify_core.errors import InvalidOptionError
from certify_core.models.architectures import NormalizeLayer, build_architecture
from certify_core.models.loading import sha256_file
from certify_core.models.manifest import ModelManifest, Normalization
from certify_core.views import resize_bilinear

StepProgress = Callable[[int, int, float], None]
WEIGHTS_NAME = "weights.pt"


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one training run; all recorded in the manifest."""

    sigma: float
    epochs: int = 2
    seed: int = 0
    batch_size: int = 128
    learning_rate: float = 1e-3
    view_probability: float = 0.5
    view_resize: int = 32
    architecture: str = "fmnist_cnn"

    def validate(self) -> None:
        if not 0 <= self.sigma <= 10:
            raise InvalidOptionError(f"Expected `sigma` in [0, 10], got {self.sigma}.")
        if self.epochs < 1:
            raise InvalidOptionError(f"Expected `epochs` >= 1, got {self.epochs}.")
        if self.batch_size < 1:
            raise InvalidOptionError(f"Expected `batch_size` >= 1, got {self.batch_size}.")
        if not 0 <= self.view_probability <= 1:
            raise InvalidOptionError(
                f"Expected `view_probability` in [0, 1], got {self.view_probability}."
            )
        if not self.learning_rate > 0:
            raise InvalidOptionError(f"Expected `learning_rate` > 0, got {self.learning_rate}.")


def measure_normalization(images: torch.Tensor) -> Normalization:
    """Per-channel mean and std of [0, 1] training images (rounded to 4 places)."""
    mean = images.mean(dim=(0, 2, 3))
    std = images.std(dim=(0, 2, 3))
    return Normalization(
        tuple(round(float(m), 4) for m in mean), tuple(round(float(s), 4) for s in std)
    )


def random_patch_view(
    images: torch.Tensor, resize: int, generator: torch.Generator
) -> torch.Tensor:
    """Up-scale (N, C, H, W) to resize x resize, then crop H x W at a random offset per image."""
    n, _, height, width = images.shape
    canvas = resize_bilinear(images, (resize, resize))
    top = torch.randint(0, resize - height + 1, (n,), generator=generator)
    left = torch.randint(0, resize - width + 1, (n,), generator=generator)
    rows = (top[:, None] + torch.arange(height))[:, :, None]
    cols = (left[:, None] + torch.arange(width))[:, None, :]
    batch = torch.arange(n)[:, None, None]
    # advanced indexing on (N, H, W, C) keeps the gathered axes in place
    cropped = canvas.permute(0, 2, 3, 1)[batch, rows, cols]
    return cropped.permute(0, 3, 1, 2).contiguous()


def augment(images: torch.Tensor, config: TrainConfig, generator: torch.Generator) -> torch.Tensor:
    """Gaussian noise in pixel space, then the patch view for a random subset."""
    noisy = images + config.sigma * torch.randn(images.shape, generator=generator)
    chosen = torch.rand(images.shape[0], generator=generator) < config.view_probability
    if config.view_probability > 0 and bool(chosen.any()):
        noisy[chosen] = random_patch_view(noisy[chosen], config.view_resize, generator)
    return noisy


def build_model(config: TrainConfig, normalization: Normalization, classes: int) -> nn.Sequential:
    """Normalization layer then the network, initialized from `config.seed`."""
    torch.manual_seed(config.seed)  # layer initializers draw from the global generator
    network = build_architecture(config.architecture, {"num_classes": classes})
    return nn.Sequential(NormalizeLayer(normalization), network)


def train_model(
    config: TrainConfig, data: LabeledDataset, progress: StepProgress | None = None
) -> tuple[nn.Sequential, Normalization]:
    """Train on `data`; returns the network (normalization first) and its normalization."""
    config.validate()
    images, labels = data.tensors()
    normalization = measure_normalization(images)
    model = build_model(config, normalization, len(data.class_names))
    model = model.to(memory_format=torch.channels_last).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    generator = torch.Generator().manual_seed(config.seed)
    steps_per_epoch = math.ceil(len(labels) / config.batch_size)
    total = config.epochs * steps_per_epoch
    for epoch in range(config.epochs):
        order = torch.randperm(len(labels), generator=generator)
        for step in range(steps_per_epoch):
            index = order[step * config.batch_size: (step + 1) * config.batch_size]
            batch = augment(images[index], config, generator)
            loss = F.cross_entropy(model(batch.contiguous(memory_format=torch.channels_last)),
                                   labels[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
            if progress is not None:
                progress(epoch * steps_per_epoch + step + 1, total, float(loss.detach()))
    return model.eval(), normalization


@torch.inference_mode()
def accuracy(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, sigma: float, seed: int,
    batch_size: int = 500,
) -> float:
    """Top-1 accuracy with one Gaussian draw per image (sigma 0: clean accuracy)."""
    generator = torch.Generator().manual_seed(seed)
    correct = 0
    for start in range(0, len(labels), batch_size):
        batch = images[start: start + batch_size]
        if sigma > 0:
            batch = batch + sigma * torch.randn(batch.shape, generator=generator)
        logits = model(batch.contiguous(memory_format=torch.channels_last))
        correct += int((logits.argmax(dim=1) == labels[start: start + batch_size]).sum())
    return correct / len(labels)


def test_accuracies(
    model: nn.Module, test: LabeledDataset, sigma: float, seed: int, count: int
) -> dict[str, Any]:
    """Clean and noisy accuracy on the first `count` test images, as recorded in manifests."""
    images, labels = test.tensors(0, count)
    return {
        "clean_accuracy": accuracy(model, images, labels, 0.0, seed),
        "noisy_accuracy": accuracy(model, images, labels, sigma, seed),
        "test_images": len(labels),
        "noise_seed": seed,
    }


def save_model(
    out_dir: Path, name: str, model: nn.Sequential, normalization: Normalization,
    config: TrainConfig, data: LabeledDataset, metrics: dict[str, Any], dataset_name: str,
) -> ModelManifest:
    """Write `weights.pt` (the network without its normalization layer) and `manifest.json`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    network = model[1]  # index 0 is the normalization layer, recorded in the manifest instead
    weights = out_dir / WEIGHTS_NAME
    state = {key: value.contiguous() for key, value in network.state_dict().items()}
    torch.save(state, weights)
    manifest = ModelManifest(
        name=name, format="state_dict", weights=WEIGHTS_NAME,
        input_shape=tuple(int(v) for v in data.inputs.shape[1:]),
        class_names=data.class_names, sigma=config.sigma, architecture=config.architecture,
        architecture_kwargs={"num_classes": len(data.class_names)},
        normalization=normalization,
        sha256=sha256_file(weights), kind="image",
        training={
            "dataset": dataset_name, **asdict(config),
            "augmentation": (
                f"gaussian noise N(0, {config.sigma}^2) in [0, 1] pixel space, then with "
                f"probability {config.view_probability} the Smooth-Reduce patch view "
                f"(bilinear up-scale to {config.view_resize}, random crop back to the input size)"
            ),
            "optimizer": "adam", "torch": torch.__version__, **metrics,
        },
    )
    manifest.save(out_dir)
    return manifest
