"""A release gate over images: is the certified accuracy at radius R at least A?

For an image drawn in a random order from the set, C = 1 when its decision-mode
certificate names the true label at radius R. A certificate is false with
probability at most `alpha`, so q = P(C = 1) <= mu + alpha, where mu is the
fraction of images whose smoothed prediction is correct and robust at R. The
looks (numbers of images) are declared before the first image and `delta` is
split evenly across them; on the event that every look's Clopper-Pearson
lower bound holds (probability >= 1 - delta), `q_L - alpha <= mu` at every
look, so a pass at any look is right. The gate passes when
`q_L - alpha >= A` and fails ("not shown") when the upper bound, at its own
level, is below `A + alpha`: that stop claims nothing and spends no delta.

Numpy and scipy only: the rule sees counts, so simulations run it on
thousands of gates at once (tests/core/test_gate.py; proof in docs/MATH.md).
"""

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.stats import beta

from certify_contract.gates import GateOutcome, GateVerdict
from certify_core.errors import InvalidOptionError

FIRST_LOOK = 50
PASS, FAIL, UNDECIDED, GO_ON = 1, -1, 0, 2
CODES: dict[int, GateOutcome] = {PASS: "pass", FAIL: "fail", UNDECIDED: "undecided"}


def gate_looks(set_size: int, first: int = FIRST_LOOK) -> tuple[int, ...]:
    """`first`, doubling, then the whole set: 50, 100, 200, ..., set_size."""
    if set_size < 1:
        raise InvalidOptionError(f"Expected a data set of >= 1 image, got {set_size}.", "data")
    looks = []
    look = first
    while look < set_size:
        looks.append(look)
        look *= 2
    return (*looks, set_size)


def split_delta(delta: float, looks: int) -> float:
    """The delta each look spends: an even split, so the looks' deltas sum to `delta`."""
    return delta / looks


def cp_lower(k: ArrayLike, n: int, level: float) -> np.ndarray:
    """One-sided (1 - level) Clopper-Pearson lower bounds, elementwise (0 when k = 0)."""
    k = np.asarray(k)
    safe = np.maximum(k, 1)
    return np.where(k > 0, beta.ppf(level, safe, n - safe + 1), 0.0)


def cp_upper(k: ArrayLike, n: int, level: float) -> np.ndarray:
    """One-sided (1 - level) Clopper-Pearson upper bounds, elementwise (1 when k = n)."""
    k = np.asarray(k)
    safe = np.minimum(k, n - 1)
    return np.where(k < n, beta.ppf(1.0 - level, safe + 1, n - safe), 1.0)


def certified_correct(labels: np.ndarray, certified: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """C per image: certified at R *and* naming the true label (an abstention counts 0)."""
    return np.asarray(certified, dtype=bool) & (np.asarray(labels) == np.asarray(truth))


@dataclass(frozen=True)
class GateRule:
    """Looks declared up front; `delta` split over them; per-image `alpha`; threshold A."""

    looks: tuple[int, ...]
    min_accuracy: float
    radius: float
    delta: float = 0.01
    alpha: float = 0.001

    def __post_init__(self) -> None:
        if not self.looks or any(b <= a for a, b in zip(self.looks, self.looks[1:], strict=False)):
            raise InvalidOptionError(f"Expected increasing looks, got {self.looks}.", "looks")
        for name in ("min_accuracy", "delta", "alpha"):
            value = getattr(self, name)
            if not 0.0 < value < 1.0:
                raise InvalidOptionError(f"Expected `{name}` in (0, 1), got {value}.", name)

    @property
    def look_delta(self) -> float:
        return split_delta(self.delta, len(self.looks))

    def bounds(self, look: int, certified: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds on q at look `look` (0-based) from the certified counts."""
        n = self.looks[look]
        return cp_lower(certified, n, self.look_delta), cp_upper(certified, n, self.look_delta)

    def codes(self, look: int, certified: ArrayLike) -> np.ndarray:
        """PASS, FAIL, UNDECIDED (last look only) or GO_ON for each count."""
        lower, upper = self.bounds(look, certified)
        last = look == len(self.looks) - 1
        codes = np.full(np.shape(certified), UNDECIDED if last else GO_ON)
        codes = np.where(upper < self.min_accuracy + self.alpha, FAIL, codes)
        return np.where(lower - self.alpha >= self.min_accuracy, PASS, codes)

    def run(self, certified_at_looks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Stop many gates at once: counts of shape (gates, looks) -> (codes, stopping look)."""
        counts = np.asarray(certified_at_looks)
        outcome = np.full(counts.shape[0], GO_ON)
        stopped_at = np.full(counts.shape[0], -1)
        for look in range(len(self.looks)):
            open_ = outcome == GO_ON
            codes = self.codes(look, counts[:, look])
            outcome = np.where(open_, codes, outcome)
            stopped_at = np.where(open_ & (codes != GO_ON), look, stopped_at)
        return outcome, stopped_at

    def verdict(self, look: int, images: int, certified: int, model_evaluations: int,
                set_size: int) -> GateVerdict:
        """The record for a gate that stopped at `look` with these counts."""
        code = int(self.codes(look, np.array(certified)))
        if code == GO_ON:
            raise ValueError(f"the gate does not stop at look {look} with {certified} certified")
        lower, upper = (float(b) for b in self.bounds(look, np.array(certified)))
        return GateVerdict(
            verdict=CODES[code], radius=self.radius, min_accuracy=self.min_accuracy,
            confidence=1.0 - self.delta, alpha=self.alpha, accuracy_lower=lower - self.alpha,
            q_lower=lower, q_upper=upper, images=images, certified=certified,
            model_evaluations=model_evaluations, looks=self.looks, looks_taken=look + 1,
            set_size=set_size)
