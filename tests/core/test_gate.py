"""The release gate's rule on simulated image streams with a known certified accuracy.

No model: each image falls in a category (robust and correct, robust and wrong,
not robust) with known probabilities, and a category fixes what its certificate
says (label, certified at R, true label). Each simulated gate draws the
category counts between looks from multinomial increments, so 20,000 gates
run in about a second. A sound gate passes a model whose robust accuracy mu is
below A with probability at most delta, whatever the images; over N gates its
count of passes is at most Binomial(N, delta), and each assertion's threshold
is that law's 1 - 1e-6 quantile, so it fails a sound gate with probability
below 1e-6. Seeds are fixed, so every run is also deterministic. The worst
case puts q = P(C = 1) at its ceiling mu + alpha: non-robust images are
certified correct with probability alpha, robust correct ones always.
"""

from dataclasses import dataclass

import numpy as np
import pytest
from scipy.stats import binom

from certify_contract.gates import GateVerdict
from certify_core.errors import InvalidOptionError
from certify_core.gate import (
    FAIL,
    PASS,
    GateRule,
    certified_correct,
    cp_lower,
    cp_upper,
    gate_looks,
)
from certify_core.sequential import clopper_pearson_upper
from certify_core.statistics import clopper_pearson_lower

GATES = 20_000
SET_SIZE = 10_000
DELTA = 0.05  # large, so that 20,000 gates measure the pass rate well
LOOKS = gate_looks(SET_SIZE)
TRUTH = 1


@dataclass(frozen=True)
class Population:
    """Image categories: their probabilities and what each one's certificate says."""

    probs: tuple[float, ...]
    labels: tuple[int, ...]
    certified: tuple[bool, ...]

    def certified_counts(self, seed: int) -> np.ndarray:
        """C summed up to each look, for GATES independent gates: shape (GATES, looks)."""
        rng = np.random.default_rng(seed)
        c = certified_correct(np.array(self.labels), np.array(self.certified),
                              np.full(len(self.labels), TRUTH)).astype(int)
        steps = np.diff((0, *LOOKS))
        counts = [rng.multinomial(step, self.probs, size=GATES) @ c for step in steps]
        return np.cumsum(np.stack(counts, axis=1), axis=1)


def worst_case(mu: float, alpha: float, wrong: float = 0.0) -> Population:
    """Robust correct (certified), robust wrong (certified, wrong label), not robust:
    falsely certified correct with probability alpha, else abstaining (label -1)."""
    rest = 1.0 - mu - wrong
    return Population((mu, wrong, rest * alpha, rest * (1 - alpha)),
                      (TRUTH, TRUTH + 1, TRUTH, -1), (True, True, True, False))


def pass_rate_bound(delta: float = DELTA) -> int:
    return int(binom.isf(1e-6, GATES, delta))


def passes(rule: GateRule, population: Population, seed: int) -> int:
    outcome, _ = rule.run(population.certified_counts(seed))
    return int((outcome == PASS).sum())


@pytest.mark.parametrize(("min_accuracy", "alpha", "gap", "wrong", "seed"), [
    (0.80, 0.001, 0.002, 0.0, 1),   # mu just below A: the stopping rule over looks
    (0.50, 0.05, 0.01, 0.0, 2),     # a large per-image alpha: the -alpha in the bound
    (0.80, 0.001, 0.01, 0.15, 3),   # robust but wrong images: only correct labels count
    (0.90, 0.01, 0.0, 0.05, 4),     # mu = A exactly
])
def test_gate_passes_a_model_below_the_threshold_at_rate_at_most_delta(
        min_accuracy: float, alpha: float, gap: float, wrong: float, seed: int) -> None:
    rule = GateRule(LOOKS, min_accuracy, radius=0.25, delta=DELTA, alpha=alpha)
    population = worst_case(min_accuracy - gap, alpha, wrong)
    assert passes(rule, population, seed) <= pass_rate_bound()


def test_full_delta_at_every_look_would_pass_too_often() -> None:
    """What the split prevents: the same counts judged at the full delta at each look."""
    rule = GateRule(LOOKS, 0.80, radius=0.25, delta=DELTA * len(LOOKS), alpha=0.001)
    assert rule.look_delta == pytest.approx(DELTA)
    population = worst_case(0.798, 0.001)
    # Its rate, measured with other seeds, is about 0.155 (the split rule's: 0.014):
    # far above the bound (about 0.057).
    assert passes(rule, population, 1) > pass_rate_bound()


def test_a_clearly_robust_model_passes_early() -> None:
    """Power: mu = A + 0.1 with delta = 0.01 passes by the 800th image in nearly every gate."""
    rule = GateRule(LOOKS, 0.70, radius=0.25, delta=0.01, alpha=0.001)
    outcome, stopped = rule.run(worst_case(0.80, 0.001).certified_counts(5))
    early = (outcome == PASS) & (stopped <= LOOKS.index(800))
    # Fails with probability < 1e-6 when the true rate is >= 0.99 (measured with another
    # seed: 0.9996 by 800 images, 0.93 by 400, 0.56 by 200).
    assert early.sum() >= binom.ppf(1e-6, GATES, 0.99)


def test_a_model_at_the_threshold_is_rarely_failed() -> None:
    """The fail stop has its own level: with q >= A + alpha it fires at rate <= delta."""
    rule = GateRule(LOOKS, 0.80, radius=0.25, delta=DELTA, alpha=0.001)
    outcome, _ = rule.run(worst_case(0.80, 0.001).certified_counts(6))
    assert int((outcome == FAIL).sum()) <= pass_rate_bound()


def test_a_clearly_weak_model_fails_early() -> None:
    rule = GateRule(LOOKS, 0.95, radius=0.25, delta=0.01, alpha=0.001)
    outcome, stopped = rule.run(worst_case(0.80, 0.001).certified_counts(7))
    # A fail at all, and by the 200th image: fails with probability < 1e-6 when the true
    # rates are >= 0.99 (measured with another seed: 1.0, and 0.9998 by 200 images,
    # 0.96 by 100, 0.69 by 50).
    assert int((outcome == FAIL).sum()) >= binom.ppf(1e-6, GATES, 0.99)
    assert int((stopped <= LOOKS.index(200)).sum()) >= binom.ppf(1e-6, GATES, 0.99)


def test_looks_are_declared_from_the_set_size() -> None:
    assert gate_looks(10_000) == (50, 100, 200, 400, 800, 1600, 3200, 6400, 10_000)
    assert gate_looks(400) == (50, 100, 200, 400)
    assert gate_looks(30) == (30,)
    with pytest.raises(InvalidOptionError):
        gate_looks(0)
    with pytest.raises(InvalidOptionError, match="min_accuracy"):
        GateRule((50,), 1.2, radius=0.25)
    with pytest.raises(InvalidOptionError, match="looks"):
        GateRule((100, 50), 0.5, radius=0.25)


def test_bounds_are_the_scalar_clopper_pearson_bounds() -> None:
    for k in (0, 1, 17, 49, 50):
        assert float(cp_lower(np.array(k), 50, 0.01)) == pytest.approx(
            clopper_pearson_lower(k, 50, 0.01), abs=1e-15)
        assert float(cp_upper(np.array(k), 50, 0.01)) == pytest.approx(
            clopper_pearson_upper(k, 50, 0.01), abs=1e-15)


def test_the_verdict_record_restates_its_own_bound() -> None:
    rule = GateRule(gate_looks(1000), 0.5, radius=0.25, delta=0.01, alpha=0.001)
    verdict = rule.verdict(0, images=50, certified=45, model_evaluations=12_345, set_size=1000)
    assert isinstance(verdict, GateVerdict)
    assert verdict.verdict == "pass" and verdict.looks_taken == 1
    expected = clopper_pearson_lower(45, 50, 0.01 / len(rule.looks))
    assert verdict.q_lower == pytest.approx(expected, abs=1e-15)
    assert verdict.accuracy_lower == pytest.approx(expected - 0.001)
    assert verdict.accuracy_lower >= 0.5 and "pass" in verdict.line()
    with pytest.raises(ValueError, match="does not stop"):
        rule.verdict(0, images=50, certified=30, model_evaluations=1, set_size=1000)
    last = rule.verdict(len(rule.looks) - 1, images=1000, certified=505, model_evaluations=1,
                        set_size=1000)
    assert last.verdict == "undecided"


def test_the_standard_library_bounds_match_scipy() -> None:
    """The API's Clopper-Pearson bounds (no scipy there) against scipy's, over a grid."""
    from certify_contract.gate_rule import cp_lower_one, cp_upper_one

    for n in (1, 50, 400, 10_000):
        for k in sorted({0, 1, n // 7, n // 2, n - 1, n}):
            for level in (0.5, 0.01, 1e-4):
                assert cp_lower_one(k, n, level) == pytest.approx(
                    float(cp_lower(np.array(k), n, level)), rel=1e-9, abs=1e-15)
                assert cp_upper_one(k, n, level) == pytest.approx(
                    float(cp_upper(np.array(k), n, level)), rel=1e-9, abs=1e-15)


def test_the_thresholds_are_the_bounds_decisions() -> None:
    """`pass_from` / `fail_upto` agree with the bounds tested count by count."""
    rule = GateRule((50, 100, 200), 0.7, radius=0.25, delta=0.01, alpha=0.001)
    for look, n in enumerate(rule.looks):
        lower, upper = rule.bounds(look, np.arange(n + 1))
        assert [k for k in range(n + 1) if lower[k] - 0.001 >= 0.7] == \
            list(range(rule.pass_from[look], n + 1))
        assert [k for k in range(n + 1) if upper[k] < 0.7 + 0.001] == \
            list(range(rule.fail_upto[look] + 1))


def test_a_verdict_before_every_image_ran_bounds_both_ways() -> None:
    """A look decided with images not run: the lower bound counts them as not certified,
    the upper bound as certified, so each bound holds whatever they would have shown."""
    rule = GateRule((50, 100), 0.3, radius=0.25, delta=0.01, alpha=0.001)
    k = rule.pass_from[0]
    early = rule.verdict(0, images=k + 5, certified=k, model_evaluations=1, set_size=100, unrun=20)
    assert early.verdict == "pass"
    assert early.q_lower == pytest.approx(float(cp_lower(np.array(k), 50, rule.look_delta)))
    assert early.q_upper == pytest.approx(float(cp_upper(np.array(k + 20), 50, rule.look_delta)))
    fail = GateRule((50, 100), 0.95, radius=0.25, delta=0.01, alpha=0.001)
    stop = fail.verdict(0, images=20, certified=5, model_evaluations=1, set_size=100, unrun=30)
    assert stop.verdict == "fail" and stop.q_lower == pytest.approx(
        float(cp_lower(np.array(5), 50, fail.look_delta)))
    with pytest.raises(ValueError, match="does not stop"):
        rule.verdict(0, images=10, certified=1, model_evaluations=1, set_size=100, unrun=40)
