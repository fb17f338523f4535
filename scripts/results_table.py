"""A results table with 95% intervals, and each run's paired difference from the first run.

    .venv/bin/python scripts/results_table.py [--radii R ...] [--naive] RUN_DIR [RUN_DIR ...]

Each RUN_DIR is a `certify evaluate --out` folder (certify.tsv and summary.json). The
first table gives every run's certified fraction at each R (exact Clopper-Pearson
interval over the images) and ACR (percentile bootstrap over the images); `--naive`
adds, after an independent-noise run, the same run scored with its naive radius
(NOT sound). The second table gives each later run minus the first, on the images
both evaluated, with a paired bootstrap interval (images resampled, both runs
together, 10,000 times, seed 0): an interval that excludes 0 is a difference the
test set resolves. See certify_core/intervals.py.
"""

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from certify_core.evaluation import EvalRow, read_tsv
from certify_core.intervals import BOOTSTRAP_SEED, paired_interval, paired_rows, per_image, run_estimates


def load_run(run_dir: Path) -> tuple[str, list[EvalRow], float | None]:
    """Label, rows, and model evaluations per image (from the summary the run wrote)."""
    summary = json.loads((run_dir / "summary.json").read_text())
    options = summary["run"]["options"]
    patches = 1 if options["method"] == "cohen" else options.get("patches") or 9
    rows = read_tsv(run_dir / "certify.tsv")
    counted = [row.evaluations for row in rows if row.evaluations is not None]
    evaluations = (float(np.mean(counted)) if len(counted) == len(rows)
                   else float((options["n0"] + options["n"]) * patches))
    return str(summary["run"]["label"]), rows, evaluations


def naive_view(rows: list[EvalRow]) -> list[EvalRow]:
    """The same rows scored with the naive radius (what the paper's code reports)."""
    return [replace(row, radius=row.naive_radius or 0.0) for row in rows]


def estimates_table(runs: list[tuple[str, list[EvalRow], float | None]],
                    radii: list[float]) -> list[str]:
    head = ["run", "images", "evals / image", *[f"r={r:g}" for r in radii], "ACR"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, rows, evaluations in runs:
        estimates = run_estimates(rows, radii)
        cells = [label, str(len(rows)), f"{evaluations:,.0f}" if evaluations else ""]
        cells += [estimate.cell() for estimate in estimates.values()]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def differences_table(runs: list[tuple[str, list[EvalRow], float | None]],
                      radii: list[float]) -> list[str]:
    base_label, base_rows, _ = runs[0]
    head = ["run minus " + base_label, "images", *[f"r={r:g}" for r in radii], "ACR"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, rows, _ in runs[1:]:
        a_rows, b_rows = paired_rows(base_rows, rows)
        a, b = per_image(a_rows, radii), per_image(b_rows, radii)
        rng = np.random.default_rng(BOOTSTRAP_SEED)
        cells = [label, str(len(a_rows))]
        for name in a:
            low, high = paired_interval(a[name], b[name], rng)
            cells.append(f"{b[name].mean() - a[name].mean():+.4f} [{low:+.4f}, {high:+.4f}]")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", type=Path, nargs="+")
    parser.add_argument("--radii", type=float, nargs="+", default=[0.0, 0.25, 0.5])
    parser.add_argument("--naive", action="store_true",
                        help="also score independent-noise runs with the naive radius")
    args = parser.parse_args()
    runs = []
    for run_dir in args.runs:
        label, rows, evaluations = load_run(run_dir)
        runs.append((label, rows, evaluations))
        if args.naive and rows[0].naive_radius is not None:
            runs.append((f"{label} — naive radius, **NOT sound**", naive_view(rows), None))
    lines = estimates_table(runs, args.radii)
    if len(runs) > 1:
        lines += ["", *differences_table(runs, args.radii)]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
