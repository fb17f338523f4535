"""`certify evaluate` and `certify plot` end to end, through the installed console script."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from certify_cli.main import main
from certify_core.datasets import FASHION_MNIST_DIR
from certify_core.evaluation import read_tsv, summarize
from tests.terminal import run_with_terminal_stderr

CERTIFY = Path(sys.executable).parent / "certify"

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not FASHION_MNIST_DIR.is_dir(),
                       reason="apt-get install -y dataset-fashion-mnist"),
]


def _certify(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CERTIFY), *args], capture_output=True, text=True, timeout=300,
                          check=False)


def test_evaluate_writes_tsv_and_summary_recomputable_from_it(tmp_path: Path) -> None:
    out = tmp_path / "run"
    done = _certify("evaluate", "--count", "4", "--skip", "7", "--n0", "10", "--n", "40",
                    "--method", "smooth-reduce", "--noise", "independent", "--aggregate", "max",
                    "--radii", "0", "0.1", "--seed", "3", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "\r" not in done.stderr and "img/s" not in done.stderr  # no bar in a piped log
    lines = (out / "certify.tsv").read_text().splitlines()
    assert lines[0].split("\t") == ["idx", "label", "predict", "radius", "correct", "time",
                                    "model_evaluations", "naive_radius_not_sound"]
    rows = read_tsv(out / "certify.tsv")
    assert [row.idx for row in rows] == [0, 7, 14, 21]
    assert all(row.evaluations == (10 + 40) * 9 for row in rows)  # 9 patches per sample
    summary = json.loads((out / "summary.json").read_text())
    assert summary["metrics"] == json.loads(json.dumps(summarize(rows, [0.0, 0.1])))
    assert summary["run"]["model"] == "fmnist-cnn-s025"
    intervals = summary["intervals"]["values"]  # each figure with its 95% interval
    assert set(intervals) == {"certified at R = 0", "certified at R = 0.1", "ACR"}
    assert intervals["ACR"][0] <= summary["metrics"]["acr"] <= intervals["ACR"][1]
    assert all(row.naive_radius is not None and row.naive_radius >= row.radius for row in rows)
    assert "NOT sound" in (out / "summary.md").read_text()

    plot = _certify("plot", str(out), "--out", str(tmp_path / "curve.png"))
    assert plot.returncode == 0, plot.stderr
    assert (tmp_path / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_adaptive_evaluate_counts_model_evaluations_per_image(tmp_path: Path) -> None:
    out = tmp_path / "adaptive"
    done = _certify("evaluate", "--count", "3", "--skip", "7", "--n0", "10", "--n", "300",
                    "--sampling", "adaptive", "--looks", "50,100", "--radius", "0.1",
                    "--seed", "3", "--out", str(out))
    assert done.returncode == 0, done.stderr
    rows = read_tsv(out / "certify.tsv")
    assert all(row.evaluations in (60, 110, 310) for row in rows)
    metrics = json.loads((out / "summary.json").read_text())["metrics"]
    evaluations = sorted(row.evaluations or 0 for row in rows)
    assert metrics["model_evaluations_mean"] == pytest.approx(sum(evaluations) / 3)
    assert metrics["model_evaluations_median"] == evaluations[1]
    assert "evals/img mean" in (out / "summary.md").read_text()


def test_a_progress_bar_is_drawn_on_a_terminal_only(tmp_path: Path) -> None:
    status, _, terminal = run_with_terminal_stderr(
        [str(CERTIFY), "evaluate", "--count", "2", "--n0", "5", "--n", "20", "--out",
         str(tmp_path / "run")])
    assert status == 0, terminal
    assert "certify: 100%" in terminal and "2/2" in terminal


def test_evaluate_rejects_bad_options_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # in-process: a second interpreter start costs more than the check itself
    status = main(["evaluate", "--alpha", "1.5", "--out", str(tmp_path / "x")])
    assert status == 2
    err = capsys.readouterr().err
    assert err.strip() == "certify: error: Expected `alpha` in [1e-12, 1), got 1.5."


def test_the_data_set_folder_can_be_moved_with_an_environment_variable(tmp_path: Path) -> None:
    moved = tmp_path / "fmnist"
    moved.mkdir()
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (moved / name).symlink_to(FASHION_MNIST_DIR / name)
    env = {**os.environ, "CERTIFY_FASHION_MNIST_DIR": str(moved)}
    argv = [str(CERTIFY), "evaluate", "--count", "2", "--n0", "5", "--n", "20",
            "--out", str(tmp_path / "run")]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False, env=env)
    assert done.returncode == 0, done.stderr
    assert len(read_tsv(tmp_path / "run" / "certify.tsv")) == 2
    env["CERTIFY_FASHION_MNIST_DIR"] = str(tmp_path / "empty")
    missing = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False, env=env)
    assert missing.returncode == 2
    assert f"{tmp_path / 'empty'}/t10k-images-idx3-ubyte.gz is missing" in missing.stderr
    assert "CERTIFY_FASHION_MNIST_DIR" in missing.stderr
