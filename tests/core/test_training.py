"""Training reports its progress cleanly: what `certify train` logs is the step count and loss,
never a warning from the progress call itself (the test suite turns warnings into errors)."""

import numpy as np

from certify_core.datasets import LabeledDataset
from certify_core.training import TrainConfig, train_model


def test_progress_gets_plain_floats_without_warnings() -> None:
    rng = np.random.default_rng(0)
    data = LabeledDataset(rng.integers(0, 256, (40, 1, 28, 28), dtype=np.uint8),
                          rng.integers(0, 10, 40).astype(np.int64),
                          tuple(f"c{i}" for i in range(10)))
    seen: list[tuple[int, int, float]] = []
    train_model(TrainConfig(sigma=0.25, epochs=1, batch_size=16), data,
                lambda done, total, loss: seen.append((done, total, loss)))
    assert [(done, total) for done, total, _ in seen] == [(1, 3), (2, 3), (3, 3)]
    assert all(type(loss) is float and np.isfinite(loss) for _, _, loss in seen)
