"""Confidence intervals for evaluation metrics, and paired differences between two runs.

A results table that shows a certified fraction or an ACR without its sampling
error invites reading noise as a finding. Two kinds of interval are used:

- a certified fraction is a binomial proportion over the evaluated images:
  the exact (Clopper-Pearson) two-sided interval, conservative at any size;
- the ACR (a mean of bounded per-image radii) and every difference between two
  runs on the same images: a percentile bootstrap that resamples *images*,
  with both runs resampled together when paired (same images, same seeds), so
  the interval of a difference reflects how the two runs co-vary per image.

Both describe the uncertainty of the test-set estimate about the population the
images were drawn from; they say nothing about the per-image certificates, whose
own error is the certificate's alpha.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import beta

from certify_contract.evaluation import EvalRow, validate_radii, validate_rows

CONFIDENCE = 0.95
RESAMPLES = 10_000
BOOTSTRAP_SEED = 0


def binomial_interval(hits: int, count: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Exact two-sided Clopper-Pearson interval for `hits` successes out of `count`."""
    if count <= 0 or not 0 <= hits <= count:
        raise ValueError(f"Expected 0 <= hits <= count and count > 0, got {hits} of {count}.")
    tail = (1.0 - confidence) / 2
    low = 0.0 if hits == 0 else float(beta.ppf(tail, hits, count - hits + 1))
    high = 1.0 if hits == count else float(beta.ppf(1.0 - tail, hits + 1, count - hits))
    return low, high


def per_image(rows: Sequence[EvalRow], radii: Sequence[float]) -> dict[str, np.ndarray]:
    """Each metric as a per-image column whose mean is the metric (so it can be resampled).

    `certified at R` is 1 when the image is correct with radius >= R; `ACR` is the
    radius when correct, else 0 (the standard definition).
    """
    validate_rows(rows)
    validate_radii(radii)
    radius = np.array([row.radius if row.correct else 0.0 for row in rows])
    correct = np.array([row.correct for row in rows], dtype=bool)
    columns = {f"certified at R = {r:g}": (correct & (radius >= r)).astype(float) for r in radii}
    return {**columns, "ACR": radius}


def bootstrap_interval(values: np.ndarray, rng: np.random.Generator, resamples: int = RESAMPLES,
                       confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of `values`, resampling its entries."""
    picks = rng.integers(0, len(values), size=(resamples, len(values)))
    means = values[picks].mean(axis=1)
    tail = (1.0 - confidence) / 2
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return float(low), float(high)


def paired_interval(a: np.ndarray, b: np.ndarray, rng: np.random.Generator,
                    resamples: int = RESAMPLES, confidence: float = CONFIDENCE
                    ) -> tuple[float, float]:
    """Percentile bootstrap interval of mean(b) - mean(a), resampling the pairs together."""
    if len(a) != len(b):
        raise ValueError(f"Expected paired columns of one length, got {len(a)} and {len(b)}.")
    return bootstrap_interval(b - a, rng, resamples, confidence)


@dataclass(frozen=True)
class Estimate:
    """A metric over the test set with its interval."""

    value: float
    low: float
    high: float

    def cell(self, digits: int = 3) -> str:
        return f"{self.value:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]"


def run_estimates(rows: Sequence[EvalRow], radii: Sequence[float], seed: int = BOOTSTRAP_SEED
                  ) -> dict[str, Estimate]:
    """Certified fractions with exact binomial intervals, the ACR with a bootstrap one."""
    columns = per_image(rows, radii)
    estimates = {}
    for name, column in columns.items():
        if name == "ACR":
            low, high = bootstrap_interval(column, np.random.default_rng(seed))
        else:
            low, high = binomial_interval(int(column.sum()), len(column))
        estimates[name] = Estimate(float(column.mean()), low, high)
    return estimates


def paired_rows(a: Sequence[EvalRow], b: Sequence[EvalRow]
                ) -> tuple[list[EvalRow], list[EvalRow]]:
    """The rows of both runs on the images both evaluated, in idx order."""
    by_idx_a, by_idx_b = {row.idx: row for row in a}, {row.idx: row for row in b}
    common = sorted(set(by_idx_a) & set(by_idx_b))
    if not common:
        raise ValueError("The two runs share no evaluated image.")
    return [by_idx_a[i] for i in common], [by_idx_b[i] for i in common]
