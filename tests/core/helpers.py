"""Small real models for the library tests (built here, no files needed)."""

import torch
from torch import nn

from certify_core.models import LoadedModel, ModelManifest


class LinearScorer(nn.Module):
    """Two-class model with logits (-s/2, s/2), s = w . x + b: class 1 iff s > 0."""

    def __init__(self, w: torch.Tensor, b: float) -> None:
        super().__init__()
        self.register_buffer("w", w.flatten().float())
        self.b = b

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.flatten(1) @ self.w + self.b
        return torch.stack([-s / 2, s / 2], dim=1)


def as_loaded(module: nn.Module, shape: tuple[int, ...], classes: int, sigma: float) -> LoadedModel:
    manifest = ModelManifest(
        "test-model", "state_dict", "weights.pt", shape, tuple(str(i) for i in range(classes)), sigma
    )
    return LoadedModel("test-model", module.eval(), manifest, "0" * 64, torch.device("cpu"))
