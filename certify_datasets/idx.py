"""idx files, the on-disk format of MNIST and Fashion-MNIST (gzip-compressed or not).

A folder holding `t10k-images-idx3-ubyte[.gz]` and `t10k-labels-idx1-ubyte[.gz]`
(`train-...` for the training split). Labels are class indices as stored.
"""

import gzip
from pathlib import Path

import numpy as np

from certify_datasets.errors import DatasetError
from certify_datasets.model_spec import ModelSpec
from certify_datasets.sources import ArrayImages

PREFIX = {"test": "t10k", "train": "train"}
UBYTE = 0x08


def find_idx(root: Path, split: str, what: str) -> Path | None:
    stem = f"{PREFIX[split]}-{what}-idx{3 if what == 'images' else 1}-ubyte"
    for name in (f"{stem}.gz", stem):
        if (root / name).is_file():
            return root / name
    return None


def read_idx(path: Path, ndim: int) -> np.ndarray:
    try:
        data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DatasetError(str(path), f"unreadable: {exc}") from exc
    if len(data) < 4 + 4 * ndim or data[0:2] != b"\0\0" or data[2] != UBYTE or data[3] != ndim:
        raise DatasetError(str(path), f"not an idx file of unsigned bytes with {ndim} dimensions.")
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise DatasetError(str(path), f"truncated: {body.size} values for dimensions {dims}.")
    return body.reshape(dims)


def idx_folder(root: Path, model: ModelSpec, split: str) -> ArrayImages:
    images_path, labels_path = find_idx(root, split, "images"), find_idx(root, split, "labels")
    if images_path is None or labels_path is None:
        raise DatasetError(str(root), f"no {PREFIX[split]}-images-idx3-ubyte[.gz] and "
                           f"{PREFIX[split]}-labels-idx1-ubyte[.gz] for the {split} split.")
    images, labels = read_idx(images_path, 3), read_idx(labels_path, 1).astype(np.int64)
    if images.shape[0] != labels.shape[0]:
        raise DatasetError(str(root), f"{images.shape[0]} images but {labels.shape[0]} labels.")
    too_high = np.flatnonzero(labels >= len(model.class_names))
    if too_high.size:
        raise DatasetError(f"{labels_path}[{int(too_high[0])}]", f"unknown label "
                           f"{int(labels[too_high[0]])}: model {model.name} has "
                           f"{len(model.class_names)} classes (mismatched label map).")
    return ArrayImages(images[:, None, :, :], labels, model, "idx",
                       "class order: the class indices stored in the idx labels file",
                       str(images_path))
