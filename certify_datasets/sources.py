"""Labelled items, read one at a time: arrays in memory, image files, video files.

Every source gives, for item i, its label (the model's class index), where it
comes from (for error messages), the certified tensor (float32 in [0, 1]),
and what `--service` uploads for it (a lossless PNG of the same pixels, or
the clip file itself, which the service decodes exactly as `pixels` does).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from certify_datasets.errors import DatasetError
from certify_datasets.images import from_array, png_bytes, prepare, read_image
from certify_datasets.model_spec import ModelSpec
from certify_media import MediaError, VideoLimits
from certify_media.video import decode_video_in_process

# Decoder codes that say the file is broken, not that it is the wrong kind of input.
UNREADABLE_CODES = frozenset({"corrupt_video", "corrupt_image", "unsupported_media_type", "empty_file",
                              "truncated_video", "no_video_stream", "no_frames"})


class EvalData(Protocol):
    """What `certify evaluate` reads (locally and for `--service`)."""

    @property
    def kind(self) -> str: ...
    @property
    def format(self) -> str: ...
    @property
    def class_note(self) -> str: ...

    def __len__(self) -> int: ...
    def label(self, index: int) -> int: ...
    def source(self, index: int) -> str: ...
    def pixels(self, index: int) -> np.ndarray: ...
    def upload(self, index: int) -> tuple[str, bytes]: ...


class _PreparedImages:
    """Pixels and lossless uploads of a still image, from a source's `_prepared` uint8 array."""

    def _prepared(self, index: int) -> np.ndarray:
        raise NotImplementedError

    def pixels(self, index: int) -> np.ndarray:
        return self._prepared(index).astype(np.float32) / 255.0

    def upload(self, index: int) -> tuple[str, bytes]:
        return f"{index}.png", png_bytes(self._prepared(index))


@dataclass(frozen=True)
class ArrayImages(_PreparedImages):
    """uint8 (N, C, H, W) images held in memory (CIFAR batches, idx files)."""

    images: np.ndarray
    labels: np.ndarray
    model: ModelSpec
    format: str
    class_note: str
    origin: str
    kind: str = "image"

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def label(self, index: int) -> int:
        return int(self.labels[index])

    def source(self, index: int) -> str:
        return f"{self.origin}[{index}]"

    def _prepared(self, index: int) -> np.ndarray:
        stored = self.images[index]
        if stored.shape == tuple(self.model.input_shape) and self.model.preprocessing.resize is None \
                and self.model.preprocessing.center_crop is None:
            return np.ascontiguousarray(stored)
        return prepare(from_array(stored), self.model, self.source(index))


@dataclass(frozen=True)
class ImageFiles(_PreparedImages):
    """Image files with labels (class folders, manifests, the ImageNet validation folder)."""

    paths: Sequence[Path]
    labels: Sequence[int]
    model: ModelSpec
    format: str
    class_note: str
    kind: str = "image"
    bad: Mapping[int, DatasetError] = field(default_factory=dict)  # items refused when listed

    def __len__(self) -> int:
        return len(self.paths)

    def label(self, index: int) -> int:
        return self.labels[index]

    def source(self, index: int) -> str:
        return str(self.paths[index])

    def _prepared(self, index: int) -> np.ndarray:
        if index in self.bad:
            raise self.bad[index]
        return prepare(read_image(self.paths[index]), self.model, self.source(index))


@dataclass(frozen=True)
class VideoFiles:
    """Clip files with labels; decoded with the service's decoder (uniform frame sampling)."""

    paths: Sequence[Path]
    labels: Sequence[int]
    model: ModelSpec
    format: str
    class_note: str
    kind: str = "video"
    bad: Mapping[int, DatasetError] = field(default_factory=dict)  # items refused when listed

    def __len__(self) -> int:
        return len(self.paths)

    def label(self, index: int) -> int:
        return self.labels[index]

    def source(self, index: int) -> str:
        return str(self.paths[index])

    def _bytes(self, index: int) -> bytes:
        if index in self.bad:
            raise self.bad[index]
        try:
            return self.paths[index].read_bytes()
        except OSError as exc:
            raise DatasetError(self.source(index), f"unreadable: {exc.strerror}", bad_item=True) from exc

    def pixels(self, index: int) -> np.ndarray:
        channels, frames, height, width = self.model.input_shape
        try:
            decoded = decode_video_in_process(self._bytes(index), (channels, frames, height, width),
                                              VideoLimits())
        except MediaError as exc:
            what = "unreadable" if exc.code in UNREADABLE_CODES else "the model cannot take this video"
            raise DatasetError(self.source(index), f"{what}: {exc.detail}", bad_item=True) from exc
        return decoded.array

    def upload(self, index: int) -> tuple[str, bytes]:
        return f"{index}{self.paths[index].suffix.lower()}", self._bytes(index)
