"""Certified fraction against mean passes per image: fixed n and adaptive rules, budget by budget.

    .venv/bin/python scripts/pareto.py sample --count 300 --skip 33 --budgets 100 300 1000 3000 10000 \
        --out docs/results/pareto/counts.jsonl       # one noise stream per image, resumable
    .venv/bin/python scripts/pareto.py table docs/results/pareto/counts.jsonl [--plot PNG]

`sample` certifies nothing itself: it records, per Fashion-MNIST test image (seed = idx,
as every results run), the selected label and its running votes at every sample count
a fixed run or an adaptive run (group-sequential or confidence sequence, decision mode)
with n_max in the budgets could stop at (certify_core/pareto.py). `table` replays fixed
n and both rules from those counts with the library's own bounds and stopping rules,
for each budget and radius: certified fraction (95% exact interval), mean samples per
image (n0 + estimation; model evaluations for Cohen), and whether the adaptive rule
*dominates* fixed n there (certifies at least as many images with no more mean passes).
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from certify_core.datasets import load_fashion_mnist
from certify_core.intervals import binomial_interval
from certify_core.models import load_model
from certify_core.pareto import (
    RULES,
    ImageCounts,
    Replayed,
    checkpoints,
    replay_decision,
    replay_fixed,
    sample_image,
)

MODEL, SIGMA, ALPHA, N0 = "fmnist-cnn-s025", 0.25, 0.001, 100
RADII = (0.25, 0.5, 0.75, 1.0)


def sample(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    model = load_model(MODEL)
    data = load_fashion_mnist("test")
    points = checkpoints(args.budgets)
    done = {json.loads(line)["idx"] for line in args.out.read_text().splitlines()} \
        if args.out.is_file() else set()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    start, fresh = time.perf_counter(), 0
    with args.out.open("a") as handle:
        for idx in range(0, len(data), args.skip)[: args.count]:
            if idx in done:
                continue
            x, label = data.tensors(idx, idx + 1)
            image = sample_image(model, x[0], idx, int(label[0]), N0, points, seed=idx)
            handle.write(json.dumps({"idx": idx, "label": image.label, "selected": image.selected,
                                     "centre_error": image.centre_error,
                                     "votes": {str(k): v for k, v in image.votes.items()}}) + "\n")
            handle.flush()
            fresh += 1
            seconds = time.perf_counter() - start
            print(f"image {idx}: {fresh} new in {seconds:.0f} s "
                  f"({(N0 + max(points)) * fresh / seconds:,.0f} samples/s)", file=sys.stderr)


def read_counts(path: Path) -> list[ImageCounts]:
    images = []
    for line in path.read_text().splitlines():
        record = json.loads(line)
        images.append(ImageCounts(record["idx"], record["label"], record["selected"],
                                  {int(k): v for k, v in record["votes"].items()},
                                  record["centre_error"]))
    return images


def cell(results: list[Replayed]) -> tuple[str, float, int]:
    hits = sum(result.certified for result in results)
    low, high = binomial_interval(hits, len(results))
    mean = float(np.mean([result.samples for result in results]))
    return f"{hits / len(results):.3f} [{low:.3f}, {high:.3f}]", mean, hits


def frontier(images: list[ImageCounts], budgets: list[int]
             ) -> dict[tuple[float, str], list[tuple[int, float, int]]]:
    """(R, method) -> per budget: (budget, mean samples, certified count)."""
    points: dict[tuple[float, str], list[tuple[int, float, int]]] = {}
    for radius in RADII:
        for budget in budgets:
            results = {"fixed n": [replay_fixed(image, budget, radius, SIGMA, ALPHA, N0)
                                   for image in images]}
            for rule in RULES:
                results[rule] = [replay_decision(image, budget, radius, SIGMA, ALPHA, N0, rule)
                                 for image in images]
            for method, replayed in results.items():
                mean = float(np.mean([result.samples for result in replayed]))
                hits = sum(result.certified for result in replayed)
                points.setdefault((radius, method), []).append((budget, mean, hits))
    return points


def plot(points: dict[tuple[float, str], list[tuple[int, float, int]]], count: int,
         out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(RADII), figsize=(4 * len(RADII), 3.6), sharey=True)
    for axis, radius in zip(axes, RADII, strict=True):
        for method in ("fixed n", *RULES):
            series = points[(radius, method)]
            axis.plot([mean for _, mean, _ in series], [hits / count for _, _, hits in series],
                      marker="o", label=method if method == "fixed n" else f"adaptive {method}")
        axis.set_xlim(left=-50)  # refused up front: 0 samples
        axis.set_title(f"R = {radius:g}")
        axis.set_xlabel("mean samples per image (n0 + n)")
    axes[0].set_ylabel("certified fraction")
    axes[0].legend()
    figure.tight_layout()
    figure.savefig(out, dpi=110)


def table(args: argparse.Namespace) -> None:
    images = read_counts(args.counts)
    budgets = [budget for budget in args.budgets if all(budget in image.votes for image in images)]
    if args.plot:
        plot(frontier(images, budgets), len(images), args.plot)
    lines = [f"Images: {len(images)}; model {MODEL}, sigma {SIGMA}, n0 {N0}, alpha {ALPHA}; "
             "decision mode at R (adaptive rules: n_max = the budget).", "",
             "| R | budget | fixed n: certified | passes | group: certified | passes | dominates "
             "| cs: certified | passes | dominates |", "|" + "---|" * 10]
    for radius in RADII:
        for budget in budgets:
            fixed = [replay_fixed(image, budget, radius, SIGMA, ALPHA, N0) for image in images]
            fixed_cell, fixed_mean, fixed_hits = cell(fixed)
            cells = [f"{radius:g}", f"{budget:,}", fixed_cell, f"{fixed_mean:,.0f}"]
            for rule in RULES:
                replayed = [replay_decision(image, budget, radius, SIGMA, ALPHA, N0, rule)
                            for image in images]
                rule_cell, rule_mean, rule_hits = cell(replayed)
                dominates = rule_hits >= fixed_hits and rule_mean <= fixed_mean
                verdict = "yes" if dominates else f"**no** ({rule_hits - fixed_hits:+d} images)"
                if all(result.samples == 0 for result in replayed):
                    verdict = "refused: R beyond n_max's reach"
                cells += [rule_cell, f"{rule_mean:,.0f}", verdict]
            lines.append("| " + " | ".join(cells) + " |")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("sample")
    run.add_argument("--count", type=int, default=300)
    run.add_argument("--skip", type=int, default=33)
    run.add_argument("--budgets", type=int, nargs="+", default=[100, 300, 1000, 3000, 10000])
    run.add_argument("--threads", type=int, default=2)
    run.add_argument("--out", type=Path, required=True)
    show = commands.add_parser("table")
    show.add_argument("counts", type=Path)
    show.add_argument("--budgets", type=int, nargs="+", default=[100, 300, 1000, 3000, 10000])
    show.add_argument("--plot", type=Path, help="also draw the frontier per radius as a PNG")
    args = parser.parse_args()
    sample(args) if args.command == "sample" else table(args)


if __name__ == "__main__":
    main()
