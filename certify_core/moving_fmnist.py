"""Moving Fashion-MNIST: one Fashion-MNIST item moving over a larger canvas.

Each video is a 28 x 28 item on a black `canvas x canvas` frame, starting at a
seeded position and moving with a seeded integer velocity that bounces off the
edges; the label is the item's class. Test videos use only the test split
(item `i` of the split for video `i`), so no test item was seen in training.
Videos are uint8 (N, 1, T, canvas, canvas); `tensors` gives [0, 1] floats.
"""

from pathlib import Path
from typing import Literal

import numpy as np

from certify_core.datasets import (
    FASHION_MNIST_CLASSES,
    FASHION_MNIST_DIR,
    LabeledDataset,
    load_fashion_mnist,
)
from certify_core.errors import InvalidOptionError

ITEM = 28
DEFAULT_FRAMES = 16
DEFAULT_CANVAS = 36
MAX_SPEED = 2
# Different streams for the two splits, so train and test trajectories differ too.
_SPLIT_SALT = {"train": 0x5EED, "test": 0x7E57}


def bounce_path(start: int, velocity: int, frames: int, extent: int) -> np.ndarray:
    """Positions in [0, extent] of a point moving at `velocity`, reflected at the ends."""
    if extent == 0:
        return np.zeros(frames, dtype=np.int64)
    period = 2 * extent
    raw = (start + velocity * np.arange(frames)) % period
    return np.where(raw <= extent, raw, period - raw)


def trajectories(count: int, frames: int, canvas: int, seed: int) -> np.ndarray:
    """(count, frames, 2) integer top-left corners of the item, seeded."""
    extent = canvas - ITEM
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, extent + 1, size=(count, 2))
    speeds = rng.integers(-MAX_SPEED, MAX_SPEED + 1, size=(count, 2))
    still = (speeds == 0).all(axis=1)
    speeds[still, 1] = 1  # every item moves
    paths = np.empty((count, frames, 2), dtype=np.int64)
    for i in range(count):
        for axis in range(2):
            paths[i, :, axis] = bounce_path(int(starts[i, axis]), int(speeds[i, axis]), frames, extent)
    return paths


def render_videos(items: np.ndarray, paths: np.ndarray, canvas: int) -> np.ndarray:
    """Paste (N, 28, 28) uint8 items along (N, T, 2) paths -> (N, 1, T, canvas, canvas)."""
    count, frames = paths.shape[:2]
    videos = np.zeros((count, 1, frames, canvas, canvas), dtype=np.uint8)
    for i in range(count):
        for t in range(frames):
            y, x = paths[i, t]
            videos[i, 0, t, y:y + ITEM, x:x + ITEM] = items[i]
    return videos


def make_moving_videos(
    images: np.ndarray, labels: np.ndarray, frames: int, canvas: int, seed: int
) -> LabeledDataset:
    """Videos of the given items (uint8 (N, 28, 28) or (N, 1, 28, 28)), one per item."""
    if canvas < ITEM or frames < 1:
        raise InvalidOptionError(f"Expected canvas >= {ITEM} and frames >= 1, got {canvas}, {frames}.")
    items = images.reshape(-1, ITEM, ITEM)
    paths = trajectories(len(items), frames, canvas, seed)
    return LabeledDataset(render_videos(items, paths, canvas), labels.astype(np.int64), FASHION_MNIST_CLASSES)


def load_moving_fashion_mnist(
    split: Literal["train", "test"] = "test",
    count: int | None = None,
    frames: int = DEFAULT_FRAMES,
    canvas: int = DEFAULT_CANVAS,
    seed: int = 0,
    root: Path = FASHION_MNIST_DIR,
) -> LabeledDataset:
    """The first `count` items of a Fashion-MNIST split (files in `root`) as moving videos."""
    source = load_fashion_mnist(split, root)
    stop = len(source) if count is None else min(count, len(source))
    return make_moving_videos(
        source.inputs[:stop], source.labels[:stop], frames, canvas, seed ^ _SPLIT_SALT[split]
    )
