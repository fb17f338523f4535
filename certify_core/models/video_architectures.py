"""Video architectures a state_dict can be loaded into; input (N, C, T, H, W) in [0, 1].

Every architecture here pools over time, so it accepts any number of frames
at least its clip length: Cohen runs it on the whole certified frame tensor,
Smooth-Reduce on each clip.

* `moving_fmnist_c2d`: a small frame-wise 2D CNN, a temporal convolution and
  temporal mean pooling (the shipped moving-Fashion-MNIST model).
* `r3d_18`, `r2plus1d_18`: torchvision's video ResNets, built without weights
  so that a user-supplied state_dict (torchvision key names) loads into them.
  Their Kinetics normalization belongs in the manifest.
"""

from collections.abc import Callable

import torch
from torch import nn

KINETICS_MEAN = (0.43216, 0.394666, 0.37645)
KINETICS_STD = (0.22803, 0.22145, 0.216989)


class FrameConvTemporalPool(nn.Module):
    """2D CNN per frame, max over space, a temporal conv, mean over time.

    Spatial max pooling makes the per-frame features translation-tolerant
    (the item moves); temporal mean pooling makes the model accept clips and
    whole videos alike.
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1, width: int = 32) -> None:
        super().__init__()
        self.frames = nn.Sequential(
            nn.Conv2d(in_channels, width // 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(width // 2, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(),
            nn.AdaptiveMaxPool2d(1), nn.Flatten(),
        )
        self.temporal = nn.Sequential(nn.Conv1d(2 * width, 2 * width, 3, padding=1), nn.ReLU())
        self.head = nn.Linear(2 * width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, t, h, w = x.shape
        per_frame = self.frames(x.transpose(1, 2).reshape(n * t, c, h, w))
        features = self.temporal(per_frame.reshape(n, t, -1).transpose(1, 2))
        logits: torch.Tensor = self.head(features.mean(dim=2))
        return logits


def moving_fmnist_c2d(num_classes: int = 10, in_channels: int = 1, width: int = 32) -> nn.Module:
    return FrameConvTemporalPool(num_classes, in_channels, width)


def r3d_18(num_classes: int = 400) -> nn.Module:
    """torchvision ResNet3D-18 (expects 3-channel clips, Kinetics-normalized)."""
    from torchvision.models import video as tv_video  # lazily: torchvision pulls in Pillow

    return tv_video.r3d_18(weights=None, num_classes=num_classes)


def r2plus1d_18(num_classes: int = 400) -> nn.Module:
    """torchvision R(2+1)D-18 (expects 3-channel clips, Kinetics-normalized)."""
    from torchvision.models import video as tv_video  # lazily: torchvision pulls in Pillow

    return tv_video.r2plus1d_18(weights=None, num_classes=num_classes)


VIDEO_ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {
    "moving_fmnist_c2d": moving_fmnist_c2d,
    "r3d_18": r3d_18,
    "r2plus1d_18": r2plus1d_18,
}
