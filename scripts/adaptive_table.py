"""The adaptive-sampling tables of docs/RESULTS.md, from the runs of scripts/adaptive_results.sh.

Every comparison uses only the images both runs certified (the same test
images and noise seeds), so a run cut short still compares fairly. Usage:

    .venv/bin/python scripts/adaptive_table.py [docs/results/adaptive]
"""

import statistics
import sys
from pathlib import Path

from certify_core.evaluation import EvalRow, read_tsv

# (adaptive run, fixed run, what is compared, radius of a decision or None for estimation,
#  the goal for the ratio of forward passes)
COMPARISONS = [
    ("cohen-decision-r025", "cohen-fixed-n10k", "Cohen, decision R = 0.25", 0.25, 8),
    ("cohen-decision-r050", "cohen-fixed-n10k", "Cohen, decision R = 0.5", 0.5, 8),
    ("cohen-estimation-n10k", "cohen-fixed-n10k", "Cohen, estimation", None, 2),
    ("cohen-decision-r025-n100k", "cohen-fixed-n100k", "Cohen, decision R = 0.25, n_max 100,000",
     0.25, 30),
    ("cohen-decision-r050-n100k", "cohen-fixed-n100k", "Cohen, decision R = 0.5, n_max 100,000",
     0.5, 30),
    ("sr-decision-r025", "sr-fixed-n10k", "SR mean shared k=9, decision R = 0.25", 0.25, 8),
    ("sr-decision-r050", "sr-fixed-n10k", "SR mean shared k=9, decision R = 0.5", 0.5, 8),
    ("sr-estimation-n10k", "sr-fixed-n10k", "SR mean shared k=9, estimation", None, 2),
]
FIXED_N0, FIXED_N = 100, 10_000
SMALL_RUNS = ["n1k-cohen", "n1k-sr-mean-shared", "n1k-sr-max-shared", "n1k-sr-mean-independent",
              "cohen-fixed-n10k"]
SIGMA = 0.25


def evaluations(row: EvalRow, patches: int) -> int:
    """Older TSVs of fixed-n runs have no evaluations column: (n0 + n) x patches then."""
    return row.evaluations if row.evaluations is not None else (FIXED_N0 + FIXED_N) * patches


def certified(rows: list[EvalRow], radius: float) -> float:
    return sum(r.correct and r.radius >= radius for r in rows) / len(rows)


def acr(rows: list[EvalRow]) -> float:
    return sum(r.radius for r in rows if r.correct) / len(rows)


def load(root: Path, name: str) -> dict[int, EvalRow]:
    path = root / name / "certify.tsv"
    return {row.idx: row for row in read_tsv(path)} if path.is_file() else {}


def comparison_row(root: Path, adaptive_name: str, fixed_name: str, what: str,
                   radius: float | None, goal_ratio: float) -> str | None:
    adaptive, fixed = load(root, adaptive_name), load(root, fixed_name)
    common = sorted(set(adaptive) & set(fixed))
    if not common:
        return None
    patches = 9 if adaptive_name.startswith("sr-") else 1
    a_rows, f_rows = [adaptive[i] for i in common], [fixed[i] for i in common]
    a_evals = [evaluations(r, patches) for r in a_rows]
    f_mean = statistics.fmean(evaluations(r, patches) for r in f_rows)
    ratio = f_mean / statistics.fmean(a_evals)
    if radius is not None:
        a_value, f_value = certified(a_rows, radius), certified(f_rows, radius)
        metric = f"{a_value:.3f} vs {f_value:.3f} ({100 * (a_value - f_value):+.1f} pp)"
        goal = "met" if ratio >= goal_ratio and abs(a_value - f_value) <= 0.01 else "missed"
    else:
        a_value, f_value = acr(a_rows), acr(f_rows)
        loss = (f_value - a_value) / SIGMA
        metric = f"ACR {a_value:.4f} vs {f_value:.4f} (loss {loss:.3f} sigma)"
        goal = "met" if ratio >= goal_ratio and loss <= 0.01 else "missed"
    return (f"| {what} | {len(common)} | {statistics.fmean(a_evals):,.0f} / "
            f"{statistics.median(a_evals):,.0f} | {f_mean:,.0f} | {ratio:.1f}x | {metric} | {goal} |")


def small_table(root: Path) -> list[str]:
    runs = {name: load(root, name) for name in SMALL_RUNS}
    runs = {name: rows for name, rows in runs.items() if rows}
    if len(runs) < 2:
        return []
    common = sorted(set.intersection(*(set(rows) for rows in runs.values())))
    radii = (0.0, 0.25, 0.5, 0.75, 1.0)
    lines = [f"Common images: {len(common)}.", "",
             "| run | evals / image | " + " | ".join(f"r={r:g}" for r in radii) + " | ACR |",
             "|---|---|" + "---|" * len(radii) + "---|"]
    for name, rows in runs.items():
        chosen = [rows[i] for i in common]
        patches = 1 if "cohen" in name else 9
        evals = statistics.fmean(evaluations(r, patches) for r in chosen)
        cells = [f"{certified(chosen, r):.3f}" for r in radii]
        lines.append(f"| {name} | {evals:,.0f} | " + " | ".join(cells) + f" | {acr(chosen):.3f} |")
        naive = [r for r in chosen if r.naive_radius is not None]
        if len(naive) == len(chosen):
            as_naive = [EvalRow(r.idx, r.label, r.predict, r.naive_radius or 0.0, r.correct, r.time)
                        for r in chosen]
            cells = [f"{certified(as_naive, r):.3f}" for r in radii]
            lines.append(f"| {name}: naive radius, NOT sound | | " + " | ".join(cells)
                         + f" | {acr(as_naive):.3f} |")
    return lines


def main() -> int:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/results/adaptive")
    print("| comparison | images | adaptive evals / image (mean / median) | fixed n evals / image "
          "| fewer passes | adaptive vs fixed | goal |")
    print("|---|---|---|---|---|---|---|")
    for adaptive_name, fixed_name, what, radius, goal_ratio in COMPARISONS:
        row = comparison_row(root, adaptive_name, fixed_name, what, radius, goal_ratio)
        if row is not None:
            print(row)
    lines = small_table(root)
    if lines:
        print()
        print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
