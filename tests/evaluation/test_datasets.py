"""The Fashion-MNIST reader: shapes, value range, and a helpful error when missing."""

import gzip
from pathlib import Path

import pytest

from certify_core.datasets import (
    FASHION_MNIST_CLASSES,
    FASHION_MNIST_DIR,
    DatasetError,
    load_fashion_mnist,
)


def test_missing_data_names_the_install_command(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"apt-get install -y dataset-fashion-mnist"):
        load_fashion_mnist("test", root=tmp_path)


def test_non_idx_file_is_refused(tmp_path: Path) -> None:
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        with gzip.open(tmp_path / name, "wb") as handle:
            handle.write(b"not an idx file at all")
    with pytest.raises(DatasetError, match="is not an idx file"):
        load_fashion_mnist("test", root=tmp_path)


@pytest.mark.skipif(not FASHION_MNIST_DIR.is_dir(),
                    reason="apt-get install -y dataset-fashion-mnist")
def test_test_split_shapes_and_range() -> None:
    data = load_fashion_mnist("test")
    assert data.inputs.shape == (10_000, 1, 28, 28)
    assert data.class_names == FASHION_MNIST_CLASSES
    images, labels = data.tensors(0, 5)
    assert images.shape == (5, 1, 28, 28)
    assert float(images.min()) >= 0.0 and float(images.max()) <= 1.0
    assert labels.tolist() == [9, 2, 1, 1, 6]
