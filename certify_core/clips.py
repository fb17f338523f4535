"""Temporal Smooth-Reduce geometry: k clips of T consecutive frames.

For video a patch is a clip. The certified input is a frame tensor
(C, T_total, H, W); the base model sees clips (C, T_clip, H, W) cut at starts
fixed *before any sampling* (a grid, or seeded random starts). With
independent noise the lift `L` stacks the k clips: per clip a frame-selection
matrix on the time axis and the identity on H and W (and channels), so
`L^T L` is diagonal with entries "number of clips covering frame t", and
`||L||_2 = sqrt(max coverage)`. The bound used in radii still comes from
`lift.lift_norm_bound` (exact eigenvalues), so there is one certified path for
images and video; tests compare it with the SVD of the explicit matrix.
"""

import functools
from collections import Counter
from dataclasses import dataclass

import numpy as np
import torch

from certify_contract.results import ClipLayout
from certify_core.errors import InvalidOptionError
from certify_core.lift import LiftNorm, SeparableLift, crop_matrix, lift_norm_bound


@dataclass(frozen=True)
class ClipGeometry:
    """`k` clips of `clip_length` frames at `starts`, from `frames` frames."""

    frames: int
    clip_length: int
    starts: tuple[int, ...]

    def __post_init__(self) -> None:
        if not self.starts:
            raise InvalidOptionError("Expected at least one clip (k >= 1), got 0.")
        if not 1 <= self.clip_length <= self.frames:
            raise InvalidOptionError(
                f"Clip length {self.clip_length} must be between 1 and the video's "
                f"{self.frames} frames."
            )
        for start in self.starts:
            if not 0 <= start <= self.frames - self.clip_length:
                raise InvalidOptionError(
                    f"Clip start {start} puts a {self.clip_length}-frame clip outside "
                    f"{self.frames} frames."
                )

    @property
    def k(self) -> int:
        return len(self.starts)

    def coverage(self) -> list[int]:
        """How many clips contain each frame (the diagonal of `L^T L`)."""
        counts = [0] * self.frames
        for start in self.starts:
            for t in range(start, start + self.clip_length):
                counts[t] += 1
        return counts

    def describe(self) -> ClipLayout:
        """The layout as every certificate records it."""
        return ClipLayout("temporal-clips", self.k, self.frames, self.clip_length, list(self.starts))


def grid_clips(frames: int, clip_length: int, stride: int) -> ClipGeometry:
    """Clips starting every `stride` frames (the last start fits the video)."""
    if stride < 1:
        raise InvalidOptionError(f"Expected `stride` >= 1, got {stride}.")
    if clip_length > frames:
        raise InvalidOptionError(f"Clip length {clip_length} exceeds the video's {frames} frames.")
    return ClipGeometry(frames, clip_length, tuple(range(0, frames - clip_length + 1, stride)))


def random_clips(frames: int, clip_length: int, k: int, seed: int) -> ClipGeometry:
    """`k` clips at starts drawn uniformly with `seed`; starts may repeat."""
    if k < 1:
        raise InvalidOptionError(f"Expected `patches` (k) >= 1, got {k}.")
    if clip_length > frames:
        raise InvalidOptionError(f"Clip length {clip_length} exceeds the video's {frames} frames.")
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, frames - clip_length + 1, size=k)
    return ClipGeometry(frames, clip_length, tuple(int(s) for s in starts))


def extract_clips(videos: torch.Tensor, geometry: ClipGeometry) -> torch.Tensor:
    """(N, C, T, H, W) -> (N, k, C, T_clip, H, W): every clip in one gather."""
    starts = torch.tensor(geometry.starts, device=videos.device)
    index = (starts[:, None] + torch.arange(geometry.clip_length, device=videos.device)).reshape(-1)
    clips = videos.index_select(2, index)  # (N, C, k * T_clip, H, W)
    n, c, _, h, w = clips.shape
    clips = clips.reshape(n, c, geometry.k, geometry.clip_length, h, w)
    return clips.transpose(1, 2)


def clip_lift(geometry: ClipGeometry, height: int = 1, width: int = 1) -> SeparableLift:
    """The lift of one channel: frame selection, then identity on H and W.

    The identity factors do not change the norm (`||A ⊗ I|| = ||A||`), so the
    default 1 x 1 spatial size keeps the exact eigen-solve tiny.
    """
    counts = Counter(geometry.starts)
    patches = tuple(
        (crop_matrix(geometry.frames, start, geometry.clip_length), np.eye(height), np.eye(width))
        for start in counts
    )
    return SeparableLift(patches, tuple(counts.values()))


@functools.lru_cache(maxsize=256)
def clip_lift_norm(geometry: ClipGeometry) -> LiftNorm:
    """Cached certified upper bound on the clip lift's spectral norm."""
    return lift_norm_bound(clip_lift(geometry))
