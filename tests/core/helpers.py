"""Small real models for the library tests (built here, no files needed)."""

import torch
from torch import nn

from certify_core.geometry import PatchGeometry
from certify_core.models import LoadedModel, ModelManifest

# Heavy up-sampling clamps the bilinear source coordinate at the borders, so
# the first and last few canvas rows (columns) all repeat the input's edge row
# (column): patches cut there share one per-axis matrix although their offsets
# differ. This layout pairs two such repeats so that the per-axis counts look
# like a 2 x 2 product while the patches are two duplicated pairs; a bound
# that trusts the counts comes out sqrt(2) too low.
CLAMPED_PAIRS = PatchGeometry(
    (8, 8), (64, 64), (1, 1), ((0, 10), (1, 10), (60, 60), (63, 63)), (8, 8)
)


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
