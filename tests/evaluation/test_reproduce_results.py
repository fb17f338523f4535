"""A committed result reruns to the same rows with today's code (scripts/reproduce_results.py)."""

import subprocess
import sys
from pathlib import Path

import pytest

from certify_core.datasets import FASHION_MNIST_DIR

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not FASHION_MNIST_DIR.is_dir(),
                                reason="apt-get install -y dataset-fashion-mnist")


def _reproduce(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "scripts/reproduce_results.py", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=600, check=False)


def test_the_cheapest_committed_run_reproduces_exactly(tmp_path: Path) -> None:
    # 20 images, about 11,000 model evaluations: adaptive sampling with a confidence sequence
    done = _reproduce("--budget-minutes", "30", "--rate", "1000", "--only", "adaptive-cs/cs-r025",
                      "--out-root", str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "adaptive-cs/cs-r025: 20 images" in done.stdout
    assert "reproduced exactly (20 rows)" in done.stdout


def test_a_changed_committed_row_is_reported(tmp_path: Path) -> None:
    sys.path.insert(0, str(REPO / "scripts"))
    from reproduce_results import compare

    committed = REPO / "docs/results/adaptive-cs/cs-r025/certify.tsv"
    lines = committed.read_text().splitlines()
    fields = lines[3].split("\t")
    fields[3] = repr(float(fields[3]) + 1e-9)  # one radius, one billionth larger
    changed = tmp_path / "certify.tsv"
    changed.write_text("\n".join([*lines[:3], "\t".join(fields), *lines[4:]]) + "\n")
    assert compare(committed, committed) == "reproduced exactly (20 rows)"
    assert compare(committed, changed).startswith("DIFFERS on 1 of 20 rows")


def test_the_plan_respects_the_budget() -> None:
    done = _reproduce("--budget-minutes", "1", "--rate", "1000", "--only", "s025/", "--dry-run")
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("s025/")]
    assert len(lines) == 6 and all("not run (over budget)" in line for line in lines[1:])
    assert "estimate 0.6 min: planned" in lines[0]  # 500 images x 70 evaluations at 1,000/s
