"""Fashion-MNIST from the Debian package `dataset-fashion-mnist` (idx .gz files).

Images come back as uint8 arrays (N, 1, 28, 28) or as float tensors in [0, 1]
pixel space, the space the certifier adds noise in.
"""

import gzip
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from certify_core.errors import CertifyError

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
INSTALL_HINT = "apt-get install -y dataset-fashion-mnist"
Split = Literal["train", "test"]
_PREFIX = {"train": "train", "test": "t10k"}
_IMAGE_MAGIC, _LABEL_MAGIC = 2051, 2049
DATASETS = ("fashion-mnist",)


class DatasetError(CertifyError):
    """A data set is missing or its files are malformed."""

    error_code = "dataset_error"


@dataclass(frozen=True)
class LabeledDataset:
    """uint8 inputs (N, C, H, W) images or (N, C, T, H, W) videos, int64 labels, class names."""

    inputs: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def tensors(self, start: int = 0, stop: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Inputs as float32 in [0, 1] and labels as int64, for rows start:stop."""
        inputs = torch.from_numpy(self.inputs[start:stop].astype(np.float32) / 255.0)
        return inputs, torch.from_numpy(self.labels[start:stop])


def _read_idx(path: Path, magic: int) -> np.ndarray:
    if not path.is_file():
        raise DatasetError(
            f"Fashion-MNIST file {path} is missing; install the data set with `{INSTALL_HINT}`, "
            "or point CERTIFY_FASHION_MNIST_DIR at a folder holding its idx .gz files."
        )
    with gzip.open(path, "rb") as handle:
        data = handle.read()
    header_magic = int.from_bytes(data[0:4], "big")
    if header_magic != magic:
        raise DatasetError(f"{path} is not an idx file (magic {header_magic}, expected {magic}).")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise DatasetError(f"{path} is truncated: {body.size} values for dimensions {dims}.")
    return body.reshape(dims)


def load_fashion_mnist(split: Split = "test", root: Path = FASHION_MNIST_DIR) -> LabeledDataset:
    """The `train` (60,000) or `test` (10,000) split of Fashion-MNIST."""
    if split not in _PREFIX:
        raise DatasetError(f"Expected `split` in {list(_PREFIX)}, got {split!r}.")
    prefix = _PREFIX[split]
    images = _read_idx(root / f"{prefix}-images-idx3-ubyte.gz", _IMAGE_MAGIC)
    labels = _read_idx(root / f"{prefix}-labels-idx1-ubyte.gz", _LABEL_MAGIC)
    if images.shape[0] != labels.shape[0]:
        raise DatasetError(f"{images.shape[0]} images but {labels.shape[0]} labels in {root}.")
    return LabeledDataset(
        images[:, None, :, :].copy(), labels.astype(np.int64), FASHION_MNIST_CLASSES
    )


def load_dataset(name: str, split: Split = "test", root: Path | None = None) -> LabeledDataset:
    """A data set by command-line name; `root` overrides where its files are."""
    if name != "fashion-mnist":
        raise DatasetError(f"Expected `dataset` in {list(DATASETS)}, got {name!r}.")
    return load_fashion_mnist(split, root or FASHION_MNIST_DIR)
