"""Registered architectures that a state_dict can be loaded into."""

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from certify_core.errors import ModelLoadError
from certify_core.models.manifest import Normalization
from certify_core.models.reference import cifar_resnet, cifar_resnet110, torchvision_resnet50
from certify_core.models.video_architectures import VIDEO_ARCHITECTURES


class NormalizeLayer(nn.Module):
    """(x - mean) / std per channel: the first layer, so noise lives in [0, 1] space."""

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, normalization: Normalization) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(normalization.mean).view(-1, 1, 1))
        self.register_buffer("std", torch.tensor(normalization.std).view(-1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 5:  # video (N, C, T, H, W): the channel axis is followed by three
            return (x - self.mean.unsqueeze(1)) / self.std.unsqueeze(1)
        return (x - self.mean) / self.std


def fmnist_cnn(num_classes: int = 10, in_channels: int = 1) -> nn.Module:
    """A 468k-parameter CNN for 28 x 28 inputs."""
    return nn.Sequential(
        nn.Conv2d(in_channels, 32, 3, padding=1), nn.ReLU(),
        nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),
        nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, num_classes),
    )


ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {
    "fmnist_cnn": fmnist_cnn,
    "resnet50": torchvision_resnet50,  # torchvision state_dict; ImageNet normalization in manifest
    "cifar_resnet110": cifar_resnet110,
    "cifar_resnet": cifar_resnet,  # any depth 6n + 2 via architecture_kwargs
    **VIDEO_ARCHITECTURES,  # moving_fmnist_c2d, r3d_18, r2plus1d_18
}


def build_architecture(name: str, kwargs: dict[str, Any]) -> nn.Module:
    try:
        factory = ARCHITECTURES[name]
    except KeyError:
        raise ModelLoadError(
            f"Unknown architecture {name!r}; registered: {sorted(ARCHITECTURES)}."
        ) from None
    try:
        return factory(**kwargs)
    except TypeError as exc:
        raise ModelLoadError(f"Bad arguments for architecture {name!r}: {exc}.") from exc
