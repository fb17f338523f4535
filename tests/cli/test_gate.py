"""`certify gate` on real Fashion-MNIST test images with the shipped s025 model.

A 40-image idx set (the first 40 test images, written as idx files) keeps it
small: fewer than 50 images make a single look over the whole set. With these
options about three in four of them are certified correct at R = 0.25, so
A = 0.5 passes and A = 0.95 fails (20 images would leave it undecided); both
outcomes are deterministic (fixed seeds).
"""

import json
from pathlib import Path

import numpy as np
import pytest

from certify_cli.main import main
from certify_core.datasets import load_dataset
from certify_core.gate import split_delta
from certify_core.statistics import clopper_pearson_lower
from certify_testkit.dataset_fixtures import write_idx

SMALL = ["--model", "fmnist-cnn-s025", "--radius", "0.25", "--n0", "20", "--n-max", "1000",
         "--batch-size", "500", "--device", "cpu"]


@pytest.fixture(scope="module")
def idx_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    test = load_dataset("fashion-mnist", "test")
    pixels = np.asarray(test.inputs[:40, 0], dtype=np.uint8)  # stored as bytes
    return write_idx(tmp_path_factory.mktemp("fmnist40"), pixels,
                     [int(label) for label in test.labels[:40]])


def gate(data: Path, *extra: str) -> int:
    return main(["gate", "--data", str(data), *SMALL, *extra])


def test_a_low_threshold_passes_and_the_record_restates_its_bound(
        idx_set: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert gate(idx_set, "--min-accuracy", "0.5", "--json") == 0
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["verdict"] == "pass" and verdict["looks"] == [40]
    assert verdict["images"] == 40 and verdict["set_size"] == 40
    bound = clopper_pearson_lower(verdict["certified"], 40, split_delta(0.01, 1))
    assert verdict["q_lower"] == pytest.approx(bound, abs=1e-12)
    assert verdict["accuracy_lower"] == pytest.approx(bound - 0.001) and bound - 0.001 >= 0.5
    # decision mode stops early: far below 40 images at n0 + n_max each
    assert 40 * 20 < verdict["model_evaluations"] < 40 * 1020


def test_a_high_threshold_fails_with_one_line(idx_set: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert gate(idx_set, "--min-accuracy", "0.95") == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("certify gate: fail:") and "/40 images" in out[0]


def test_bad_options_exit_2(idx_set: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert gate(idx_set, "--min-accuracy", "0.5", "--confidence", "1.5") == 2
    assert "--confidence" in capsys.readouterr().err
    assert gate(idx_set, "--min-accuracy", "1.5", "--max-images", "3") == 2
    assert "min_accuracy" in capsys.readouterr().err
    assert gate(idx_set / "missing", "--min-accuracy", "0.5") == 2
    assert "missing" in capsys.readouterr().err
