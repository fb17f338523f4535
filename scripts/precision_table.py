"""The precision tables of docs/RESULTS.md: fp32 against bf16 on the same images and seeds,
with paired bootstrap intervals, then the throughput table benchmarks/throughput.py wrote.

    .venv/bin/python scripts/precision_table.py [FP32_TSV BF16_TSV THROUGHPUT_MD]

Certified fraction at R: correct and radius >= R, over all images; ACR: the mean over
all images of the radius, 0 when wrong or abstaining (the standard definition). The
interval of each difference (bf16 minus fp32) resamples images, both runs together
(paired), 10,000 times with a fixed seed: a 95% percentile interval.
"""

import sys
from pathlib import Path

import numpy as np

from certify_core.evaluation import read_tsv
from certify_core.intervals import BOOTSTRAP_SEED, paired_interval, paired_rows, per_image

RESULTS = Path("docs/results")
DEFAULTS = (RESULTS / "adaptive/n1k-cohen/certify.tsv", RESULTS / "precision/n1k-bf16/certify.tsv",
            RESULTS / "precision/throughput.md")
RADII = (0.0, 0.25, 0.5)


def comparison(fp32_tsv: Path, bf16_tsv: Path) -> list[str]:
    a_rows, b_rows = paired_rows(read_tsv(fp32_tsv), read_tsv(bf16_tsv))
    a, b = per_image(a_rows, RADII), per_image(b_rows, RADII)
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    lines = [f"Images: {len(a_rows)} (the same test images and noise seeds in both runs).", "",
             "| metric | fp32 | bf16 | bf16 - fp32 | 95% paired bootstrap interval |",
             "|---|---|---|---|---|"]
    for name in a:
        low, high = paired_interval(a[name], b[name], rng)
        lines.append(f"| {name} | {a[name].mean():.4f} | {b[name].mean():.4f} | "
                     f"{b[name].mean() - a[name].mean():+.4f} | [{low:+.4f}, {high:+.4f}] |")
    same_label = sum(x.predict == y.predict for x, y in zip(a_rows, b_rows, strict=True))
    same_radius = sum(x.radius == y.radius for x, y in zip(a_rows, b_rows, strict=True))
    largest = max(abs(x.radius - y.radius) for x, y in zip(a_rows, b_rows, strict=True))
    lines += ["", f"Same prediction (or abstention) on {same_label} of {len(a_rows)} images; the "
              f"same radius on {same_radius}; the largest radius difference {largest:.4f}."]
    return lines


def main() -> None:
    fp32_tsv, bf16_tsv, throughput = (Path(arg) for arg in (sys.argv[1:] or DEFAULTS))
    lines = comparison(fp32_tsv, bf16_tsv)
    if throughput.is_file():
        lines += ["", "Throughput, measured in one run (benchmarks/throughput.py):", "",
                  throughput.read_text().strip()]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
