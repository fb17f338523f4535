"""CIFAR-10 and CIFAR-100 in their python version: pickled batches, read without running code.

`cifar-10-batches-py/` holds `test_batch`, `data_batch_1..5` and
`batches.meta`; `cifar-100-python/` holds `test`, `train` and `meta`. The
files are pickles of dicts of bytes, lists and one numpy array; they are read
with an unpickler that can build only those (anything else is refused), so a
crafted batch cannot run code.
"""

import codecs
import pickle
from pathlib import Path
from typing import Any

import numpy as np
from numpy._core import multiarray as np_multiarray
from numpy._core import numeric as np_numeric

from certify_datasets.classes import match_classes
from certify_datasets.errors import DatasetError
from certify_datasets.model_spec import ModelSpec
from certify_datasets.sources import ArrayImages

CIFAR10 = {"test": ("test_batch",), "train": tuple(f"data_batch_{i}" for i in range(1, 6)),
           "meta": "batches.meta", "names": "label_names", "labels": "labels"}
CIFAR100 = {"test": ("test",), "train": ("train",), "meta": "meta", "names": "fine_label_names",
            "labels": "fine_labels"}
# What pickles of numpy arrays name (the originals say `numpy.core`, today's numpy `numpy._core`).
_ALLOWED: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): np_multiarray._reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): np_multiarray._reconstruct,
    ("numpy._core.numeric", "_frombuffer"): np_numeric._frombuffer,  # type: ignore[attr-defined]
    ("numpy.core.numeric", "_frombuffer"): np_numeric._frombuffer,  # type: ignore[attr-defined]
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): codecs.encode,  # how protocol 2 writes bytes from Python 3
}


class _ArraysOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return _ALLOWED[module, name]
        raise pickle.UnpicklingError(f"refused to load {module}.{name}: a CIFAR batch holds only "
                                     "bytes, lists and a numpy array")


def load_batch(path: Path) -> dict[str, Any]:
    """A pickled CIFAR file as a dict with str keys (the originals are Python 2 pickles)."""
    try:
        with path.open("rb") as handle:
            raw = _ArraysOnly(handle, encoding="bytes").load()
    except FileNotFoundError:
        raise DatasetError(str(path), "missing: expected the CIFAR python batches here.") from None
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError) as exc:
        raise DatasetError(str(path), f"unreadable CIFAR batch: {exc}") from exc
    if not isinstance(raw, dict):
        raise DatasetError(str(path), "unreadable CIFAR batch: not a dict.")
    return {(k.decode() if isinstance(k, bytes) else str(k)): v for k, v in raw.items()}


def cifar_variant(root: Path) -> dict[str, Any] | None:
    if (root / "batches.meta").is_file():
        return CIFAR10
    if (root / "meta").is_file() and (root / "test").is_file():
        return CIFAR100
    return None


def _field(batch: dict[str, Any], key: str, path: Path) -> Any:
    if key not in batch:
        raise DatasetError(str(path), f"unreadable CIFAR batch: no `{key}` entry (has {sorted(batch)}).")
    return batch[key]


def cifar_folder(root: Path, model: ModelSpec, split: str) -> ArrayImages:
    variant = cifar_variant(root)
    if variant is None:
        raise DatasetError(str(root), "not a CIFAR python folder: expected batches.meta "
                           "(CIFAR-10) or meta and test (CIFAR-100).")
    meta_path = root / variant["meta"]
    names = tuple(n.decode() if isinstance(n, bytes) else str(n)
                  for n in _field(load_batch(meta_path), variant["names"], meta_path))
    classes = match_classes(str(meta_path), names, model.class_names, "the order of the CIFAR meta file")
    images, labels = [], []
    for name in variant[split]:
        path = root / name
        batch = load_batch(path)
        data = np.asarray(_field(batch, "data", path), dtype=np.uint8)
        if data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
            raise DatasetError(str(path), f"unreadable CIFAR batch: data of shape {data.shape}, "
                               "expected (N, 3072).")
        images.append(data.reshape(-1, 3, 32, 32))
        labels.append(np.asarray(_field(batch, variant["labels"], path), dtype=np.int64))
    stored = np.concatenate(labels)
    if stored.size and (stored.min() < 0 or stored.max() >= len(names)):
        raise DatasetError(str(root), f"labels outside the {len(names)} classes of the meta file.")
    to_model = np.asarray(classes.to_model, dtype=np.int64)
    fmt = "cifar10" if variant is CIFAR10 else "cifar100"
    origin = str(root / variant[split][0]) if len(variant[split]) == 1 else str(root)
    return ArrayImages(np.concatenate(images), to_model[stored], model, fmt, classes.note, origin)
