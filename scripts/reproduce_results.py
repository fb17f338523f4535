"""Rerun the evaluations behind docs/RESULTS.md within a compute budget, and check them.

    .venv/bin/python scripts/reproduce_results.py --budget-minutes 60 [--only s025/] [--dry-run]
        [--out-root DIR | --in-place]

Every run folder under docs/results holds the command that wrote it (summary.json's
`run.command`). This measures how fast this machine certifies, estimates each run's
time from its recorded model evaluations, then reruns runs in page order while the
estimate fits the budget (the rest are listed with their estimates), timing each.
A rerun writes under --out-root (default: a fresh folder in /var/tmp) and is compared
row by row with the committed TSV: the seeds are recorded, so every column but the
time must match exactly. `--in-place` overwrites docs/results instead and then
regenerates the tables (scripts/regenerate_tables.py).
"""

import argparse
import csv
import json
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

RESULTS = Path("docs/results")
PAGE_ORDER = ("s025", "s050", "s012", "video", "adaptive", "adaptive-cs", "precision")
CERTIFY = Path(".venv/bin/certify")
COMPARED = ("idx", "label", "predict", "radius", "correct", "model_evaluations",
            "naive_radius_not_sound")


@dataclass(frozen=True)
class Run:
    folder: Path  # relative to RESULTS
    command: list[str]
    images: int
    evaluations: float  # model evaluations per image, as recorded

    @property
    def estimated_evaluations(self) -> float:
        return self.images * self.evaluations


def recorded_evaluations(summary: dict, tsv: Path) -> float:
    """Mean model evaluations per image: the TSV's column, else (n0 + n) x patches."""
    mean = summary["metrics"].get("model_evaluations_mean")
    if mean:
        return float(mean)
    options = summary["run"]["options"]
    patches = 1 if options["method"] == "cohen" else (options.get("patches") or 9)
    return float((options["n0"] + options["n"]) * patches)


def runs(only: str | None) -> list[Run]:
    found = []
    for area in PAGE_ORDER:
        for summary_path in sorted((RESULTS / area).glob("*/summary.json")):
            folder = summary_path.parent.relative_to(RESULTS)
            if only and not str(folder).startswith(only):
                continue
            summary = json.loads(summary_path.read_text())
            found.append(Run(folder, shlex.split(summary["run"]["command"]),
                             summary["metrics"]["images"],
                             recorded_evaluations(summary, summary_path.parent / "certify.tsv")))
    return found


def measure_rate() -> float:
    """Model evaluations per second of the shipped CNN through `certify evaluate` (Cohen)."""
    with tempfile.TemporaryDirectory() as scratch:
        start = time.perf_counter()
        subprocess.run([str(CERTIFY), "evaluate", "--model", "fmnist-cnn-s025", "--count", "2",
                        "--n0", "100", "--n", "20000", "--out", scratch], check=True,
                       capture_output=True)
        return 2 * 20_100 / (time.perf_counter() - start)


def rerun(run: Run, out_root: Path) -> tuple[float, Path]:
    out = out_root / run.folder
    out.mkdir(parents=True, exist_ok=True)
    argv = list(run.command)
    argv[argv.index("--out") + 1] = str(out)
    start = time.perf_counter()
    subprocess.run([str(CERTIFY), *argv[1:]], check=True, capture_output=True, text=True)
    return time.perf_counter() - start, out


def compare(committed: Path, rerun_tsv: Path) -> str:
    """'reproduced exactly', or which rows differ (time is never compared)."""
    def rows(path: Path) -> dict[str, dict[str, str]]:
        with path.open(newline="") as handle:
            return {row["idx"]: {key: row[key] for key in COMPARED if key in row}
                    for row in csv.DictReader(handle, delimiter="\t")}
    old, new = rows(committed), rows(rerun_tsv)
    differing = sorted((idx for idx in old if idx in new and old[idx] != new[idx]), key=int)
    extra = len(set(new) - set(old))
    if differing:
        return f"DIFFERS on {len(differing)} of {len(old)} rows (first: idx {differing[0]})"
    note = f"; {extra} rows more than committed" if extra else ""
    missing = len(set(old) - set(new))
    note += f"; {missing} committed rows not rerun" if missing else ""
    return f"reproduced exactly ({len(old) - missing} rows){note}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budget-minutes", type=float, required=True)
    parser.add_argument("--only", help="folders under docs/results starting with this")
    parser.add_argument("--dry-run", action="store_true", help="print the plan only")
    parser.add_argument("--rate", type=float,
                        help="model evaluations/s to plan with, instead of measuring it")
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--out-root", type=Path)
    target.add_argument("--in-place", action="store_true")
    args = parser.parse_args()
    plan = runs(args.only)
    rate = args.rate or measure_rate()
    print(f"this machine: {rate:,.0f} model evaluations/s (Cohen, shipped CNN"
          f"{', as given' if args.rate else ', measured now'})")
    out_root = RESULTS if args.in_place else args.out_root or (
        Path("(nothing written)") if args.dry_run
        else Path(tempfile.mkdtemp(prefix="certify-results-", dir="/var/tmp")))
    left, failures = args.budget_minutes * 60, 0
    for run in plan:
        estimate = run.estimated_evaluations / rate
        head = f"{run.folder}: {run.images} images, {run.evaluations:,.0f} evals/image, " \
               f"estimate {estimate / 60:.1f} min"
        if args.dry_run or estimate > left:
            print(f"{head}: {'planned' if args.dry_run and estimate <= left else 'not run (over budget)'}")
            left -= estimate if args.dry_run and estimate <= left else 0
            continue
        seconds, out = rerun(run, out_root)
        left -= seconds
        verdict = "rerun in place" if args.in_place else \
            compare(RESULTS / run.folder / "certify.tsv", out / "certify.tsv")
        failures += verdict.startswith("DIFFERS")
        print(f"{head}: took {seconds / 60:.1f} min: {verdict}", flush=True)
    if args.in_place and not args.dry_run:
        subprocess.run([sys.executable, "scripts/regenerate_tables.py", "docs/RESULTS.md"],
                       check=True)
    print(f"written under {out_root}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
