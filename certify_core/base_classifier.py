"""Base classifiers `h` that turn a batch of noisy samples into votes.

`h` is what randomized smoothing smooths. For Cohen it is the model itself.
For Smooth-Reduce it is the patch ensemble: with *shared* noise the noise is
added to the input and the view pipeline is part of `h`; with *independent*
noise the noise is added to the lifted input `u = L x` and `h` only runs the
model on each (already noisy) patch and aggregates.
"""

import math
from dataclasses import dataclass

import torch

from certify_contract.options import Aggregate, NoiseMode, Scores
from certify_core.arithmetic import EAGER_FP32, Arithmetic, model_layout
from certify_core.clips import ClipGeometry, extract_clips
from certify_core.geometry import PatchGeometry
from certify_core.views import extract_patches

# Per element, a float64 evaluation of the views differs from the exact `L x`
# by a few dozen units of 2^-53 at most (the interpolation weights are convex
# and inputs lie in [0, 1]); this allowance is about a thousand times that.
FLOAT64_VIEW_ERROR = 1e-12


@dataclass(frozen=True)
class BaseClassifier:
    """A model plus the Smooth-Reduce wrapping (None geometry means plain Cohen).

    `model` is the module that runs (compiled, when `arithmetic.compile` says
    so); `arithmetic` sets its precision and any fixed batch shape.
    """

    model: torch.nn.Module
    num_classes: int
    geometry: PatchGeometry | ClipGeometry | None = None
    aggregate: Aggregate = "mean"
    scores: Scores = "softmax"
    noise: NoiseMode = "shared"
    arithmetic: Arithmetic = EAGER_FP32

    @property
    def evaluations_per_sample(self) -> int:
        return 1 if self.geometry is None else self.geometry.k

    def noise_space(self, x: torch.Tensor) -> torch.Tensor:
        """The tensor the Gaussian noise is added to: `x`, or `L x` if independent."""
        if self.geometry is None or self.noise == "shared":
            return x
        return self._views(x.unsqueeze(0))[0]

    def lifted_centre_error(self, x: torch.Tensor) -> float:
        """Upper bound on `||L x - noise_space(x)||_2` (0 unless the noise is independent).

        The lifted centre is computed in the model's float32; Cohen's radius
        holds around that tensor, not around the exact `L x` (they differ by
        about 1e-6 in norm, far more than the radius margin covers), so the
        certifier takes this distance off the lifted radius.
        """
        if self.geometry is None or self.noise == "shared":
            return 0.0
        exact = self._views(x.detach().cpu().to(torch.float64).unsqueeze(0))[0]
        used = self.noise_space(x).detach().cpu().to(torch.float64)
        rounding = float(torch.linalg.vector_norm(exact - used))
        return rounding + math.sqrt(exact.numel()) * FLOAT64_VIEW_ERROR

    def _views(self, batch: torch.Tensor) -> torch.Tensor:
        """(B, *input) -> (B, k, *model input): image patches or video clips."""
        if isinstance(self.geometry, ClipGeometry):
            return extract_clips(batch, self.geometry)
        assert self.geometry is not None
        return extract_patches(batch, self.geometry)

    def _logits(self, batch: torch.Tensor) -> torch.Tensor:
        rows = self.arithmetic.forward_rows
        if rows is None or len(batch) == rows:
            return self._forward(batch)
        # A fixed shape: pad each pass with zero rows, whose logits are dropped.
        pieces = []
        for piece in torch.split(batch, rows):
            padding = piece.new_zeros((rows - len(piece), *piece.shape[1:]))
            pieces.append(self._forward(torch.cat([piece, padding]))[: len(piece)])
        return torch.cat(pieces)

    def _forward(self, batch: torch.Tensor) -> torch.Tensor:
        batch = model_layout(batch)
        with self.arithmetic.autocast(batch.device):
            logits: torch.Tensor = self.model(batch)
        return logits.float()

    def votes(self, noisy: torch.Tensor) -> torch.Tensor:
        """(B, *noise_space_shape) -> (B,) predicted classes."""
        if self.geometry is None:
            return self._logits(noisy).argmax(dim=1)
        patches = noisy if self.noise == "independent" else self._views(noisy)
        batch, k = patches.shape[:2]
        logits = self._logits(patches.reshape(batch * k, *patches.shape[2:]))
        per_patch = logits.reshape(batch, k, -1)
        if self.scores == "softmax":
            per_patch = per_patch.softmax(dim=2)
        pooled = per_patch.mean(dim=1) if self.aggregate == "mean" else per_patch.amax(dim=1)
        return pooled.argmax(dim=1)
