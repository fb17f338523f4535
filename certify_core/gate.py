"""A release gate over images, vectorized for simulations over thousands of gates.

The rule itself (looks, the delta split, the pass and fail tests, the verdict)
is defined once, torch- and scipy-free, in `certify_contract.gate_rule`, so
that the API runs it too; this module adds what simulations need: the rule
applied to arrays of counts (tests/core/test_gate.py; proof in docs/MATH.md),
and scipy's Clopper-Pearson bounds to check the rule's own against.
"""

import numpy as np
from numpy.typing import ArrayLike
from scipy.stats import beta

from certify_contract import gate_rule
from certify_contract.gate_rule import (
    CODES,
    FAIL,
    FIRST_LOOK,
    GO_ON,
    PASS,
    UNDECIDED,
    gate_looks,
    split_delta,
)

__all__ = ["CODES", "FAIL", "FIRST_LOOK", "GO_ON", "PASS", "UNDECIDED", "GateRule", "cp_lower",
           "cp_upper", "gate_looks", "split_delta"]


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


class GateRule(gate_rule.GateRule):
    """The contract's rule, applied to arrays of counts through its per-look thresholds."""

    def bounds(self, look: int, certified: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds on q at look `look` (0-based) from the certified counts."""
        n = self.looks[look]
        return cp_lower(certified, n, self.look_delta), cp_upper(certified, n, self.look_delta)

    def codes(self, look: int, certified: ArrayLike) -> np.ndarray:
        """PASS, FAIL, UNDECIDED (last look only) or GO_ON for each count."""
        counts = np.asarray(certified)
        last = look == len(self.looks) - 1
        codes = np.full(np.shape(counts), UNDECIDED if last else GO_ON)
        codes = np.where(counts <= self.fail_upto[look], FAIL, codes)
        return np.where(counts >= self.pass_from[look], PASS, codes)

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
