"""Architectures and the checkpoint format of the randomized-smoothing reference code.

The reference code saves `{"arch": name, "state_dict": ...}` where the network
was `Sequential(NormalizeLayer, DataParallel(model))`: keys look like
`1.module.conv1.weight` and the normalization layer (index 0) holds no
tensors, so the mean/std come from the data set the architecture names.
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from certify_core.errors import ModelLoadError
from certify_core.models.manifest import Normalization

IMAGENET_NORMALIZATION = Normalization((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
CIFAR10_NORMALIZATION = Normalization((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010))


class CifarBasicBlock(nn.Module):
    """Two 3x3 convolutions with a shortcut (1x1 conv + BN where the shape changes)."""

    def __init__(self, inplanes: int, planes: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample: nn.Module | None = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(
                nn.Conv2d(inplanes, planes, 1, stride=stride, bias=False), nn.BatchNorm2d(planes)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + shortcut)


class CifarResNet(nn.Module):
    """The classic 3-stage CIFAR ResNet (16/32/64 channels), depth = 6 * blocks + 2.

    Attribute names match the reference code's `cifar_resnet` so its
    state_dicts load unchanged.
    """

    def __init__(self, depth: int = 110, num_classes: int = 10) -> None:
        super().__init__()
        if depth < 8 or (depth - 2) % 6 != 0:
            raise ModelLoadError(f"Expected a CIFAR ResNet depth 6n + 2 (e.g. 110), got {depth}.")
        blocks = (depth - 2) // 6
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = self._stage(16, 16, blocks, stride=1)
        self.layer2 = self._stage(16, 32, blocks, stride=2)
        self.layer3 = self._stage(32, 64, blocks, stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, num_classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    @staticmethod
    def _stage(inplanes: int, planes: int, blocks: int, stride: int) -> nn.Sequential:
        layers = [CifarBasicBlock(inplanes, planes, stride)]
        layers += [CifarBasicBlock(planes, planes, 1) for _ in range(blocks - 1)]
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def cifar_resnet110(num_classes: int = 10) -> nn.Module:
    return CifarResNet(110, num_classes)


def cifar_resnet(depth: int = 110, num_classes: int = 10) -> nn.Module:
    return CifarResNet(depth, num_classes)


def torchvision_resnet50(num_classes: int = 1000) -> nn.Module:
    """torchvision's ImageNet ResNet-50 with random weights (load a state_dict into it)."""
    from torchvision.models import resnet50  # imported lazily: only this architecture needs it

    return resnet50(weights=None, num_classes=num_classes)


# The reference code's `arch` strings -> (constructor, normalization of its data set)
REFERENCE_ARCHS: dict[str, tuple[Any, Normalization]] = {
    "resnet50": (torchvision_resnet50, IMAGENET_NORMALIZATION),
    "cifar_resnet110": (cifar_resnet110, CIFAR10_NORMALIZATION),
    "cifar_resnet20": (lambda num_classes=10: CifarResNet(20, num_classes), CIFAR10_NORMALIZATION),
}


def strip_reference_prefix(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Drop the `1.` (after the normalization layer) and `module.` (DataParallel) prefixes."""
    stripped: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        name = key
        for prefix in ("1.", "module."):
            name = name.removeprefix(prefix)
        if key.startswith("0."):
            continue  # a normalization layer that did save its mean/std: the manifest has them
        stripped[name] = value
    return stripped


def read_reference_checkpoint(path: Path) -> tuple[str, dict[str, torch.Tensor]]:
    """The `arch` name and the prefix-free state_dict of a reference checkpoint file."""
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    if not (isinstance(checkpoint, dict) and {"arch", "state_dict"} <= checkpoint.keys()):
        raise ModelLoadError(
            f"{path} is not a reference checkpoint: expected a dict with `arch` and `state_dict`."
        )
    return str(checkpoint["arch"]), strip_reference_prefix(checkpoint["state_dict"])


def reference_normalization(arch: str) -> Normalization:
    if arch not in REFERENCE_ARCHS:
        raise ModelLoadError(f"Unknown reference arch {arch!r}; known: {sorted(REFERENCE_ARCHS)}.")
    return REFERENCE_ARCHS[arch][1]


def load_reference_checkpoint(path: Path, num_classes: int) -> tuple[str, nn.Module]:
    """The `arch` and network (without normalization) of a reference checkpoint."""
    arch, state = read_reference_checkpoint(path)
    reference_normalization(arch)  # validates the arch name
    network: nn.Module = REFERENCE_ARCHS[arch][0](num_classes=num_classes)
    try:
        network.load_state_dict(state)
    except RuntimeError as exc:
        raise ModelLoadError(f"Checkpoint {path} does not fit arch {arch!r}: {exc}") from exc
    return arch, network
