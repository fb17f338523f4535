"""Adaptive sampling's stopping rules on simulated Bernoulli streams with a known p.

No model: each trial draws the votes at the looks from Binomial increments, so
the exact false-certification rate of a rule can be estimated over many seeds.
A sound rule's count of false certificates over N trials is at most
Binomial(N, alpha); the threshold used is that law's 1 - 1e-6 quantile, so each
such assertion fails a sound rule with probability below 1e-6. The seeds are
fixed, so every run is also deterministic.
"""

import functools
from collections.abc import Callable, Iterable

import numpy as np
import pytest
from scipy.stats import binom, norm

from certify_contract import CertifyOptions, InvalidOptionError
from certify_core.sequential import (
    LookOutcome,
    RadiusScale,
    SequentialPlan,
    SequentialRule,
    split_alpha,
)
from certify_core.statistics import certified_radius

LOOKS = (50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000)
ALPHA = 0.05  # large, so that 20,000 trials measure the rate well
TRIALS = 20_000
THRESHOLD = binom.ppf(1 - 1e-6, TRIALS, ALPHA)  # 1150 of 20,000: 0.0575


class PeekingPlan(SequentialPlan):
    """The unsound variant: the full alpha at every look."""

    @property
    def alphas(self) -> tuple[float, ...]:
        return (self.alpha,) * len(self.looks)


def simulate(rule: SequentialRule, p: float, seed: int) -> list[LookOutcome]:
    """Where `rule` stops on TRIALS Bernoulli(p) streams."""
    rng = np.random.default_rng(seed)
    increments = np.diff((0, *rule.plan.looks))
    votes = np.cumsum(rng.binomial(increments, p, size=(TRIALS, len(increments))), axis=1)
    at_look = functools.lru_cache(maxsize=None)(rule.at_look)  # few distinct counts per look
    return [_first_stop(at_look, row) for row in votes]


def _first_stop(at_look: Callable[[int, int], LookOutcome], votes: Iterable[int]) -> LookOutcome:
    """The first look at which the rule stops, given the cumulative votes at every look."""
    for look, n_a in enumerate(votes):
        outcome = at_look(look, int(n_a))
        if outcome.stop is not None:
            return outcome
    raise AssertionError("a rule always stops at the last look")


def test_the_first_stop_is_where_the_rule_stops() -> None:
    rule = SequentialRule(SequentialPlan((100, 200, 400), 0.001), RadiusScale(0.25),
                          target_radius=0.25)
    assert _first_stop(rule.at_look, [100, 200, 400]).stop == "certified"
    assert _first_stop(rule.at_look, [100, 200, 400]).n == 100
    assert _first_stop(rule.at_look, [50, 100, 200]).stop == "not_certifiable"


def false_decisions(plan: SequentialPlan, seed: int) -> tuple[int, list[LookOutcome]]:
    """Decision at R = 1 (sigma 1) with p just below Phi(1): every certificate is false."""
    p = float(norm.cdf(1.0)) - 1e-9
    outcomes = simulate(SequentialRule(plan, RadiusScale(1.0), target_radius=1.0), p, seed)
    return sum(bool(o.certified_at_radius) for o in outcomes), outcomes


def test_decision_false_certifications_stay_below_alpha() -> None:
    false, outcomes = false_decisions(SequentialPlan(LOOKS, ALPHA), seed=0)
    assert false <= THRESHOLD  # measured 754 (0.038)
    # it does stop early: futility ends most streams before n_max
    assert np.mean([o.n for o in outcomes]) < LOOKS[-1]


def test_naive_peeking_fails_the_same_test() -> None:
    """The test of the test: full alpha at every look certifies ~4x too often (0.20)."""
    false, _ = false_decisions(PeekingPlan(LOOKS, ALPHA), seed=0)
    # With a true rate near 0.20 (4,057 of 20,000 measured), falling to the
    # threshold of 1,150 has probability far below 1e-100.
    assert false > THRESHOLD


@pytest.mark.parametrize(("p", "tolerance"), [(0.55, 0.3), (0.7, 0.3), (0.9, 0.3), (0.9, 0.1)])
def test_estimation_bound_at_the_stop_holds(p: float, tolerance: float) -> None:
    """The reported p_lower exceeds the true p (a radius past the true one) at most at rate alpha."""
    rule = SequentialRule(SequentialPlan(LOOKS, ALPHA), RadiusScale(1.0), tolerance=tolerance)
    outcomes = simulate(rule, p, seed=1)
    assert sum(o.p_lower > p for o in outcomes) <= THRESHOLD
    true_radius = float(norm.ppf(p))
    assert all(o.radius is None or o.radius <= true_radius or o.p_lower > p for o in outcomes)


def test_estimation_stops_early_when_the_radius_cannot_grow() -> None:
    rule = SequentialRule(SequentialPlan(LOOKS, ALPHA), RadiusScale(1.0), tolerance=0.3)
    outcomes = simulate(rule, 0.7, seed=2)
    assert all(o.stop == "converged" for o in outcomes)
    assert max(o.n for o in outcomes) < LOOKS[-1]


def test_estimation_abstains_early_below_one_half() -> None:
    rule = SequentialRule(SequentialPlan(LOOKS, ALPHA), RadiusScale(1.0))
    outcomes = simulate(rule, 0.3, seed=3)
    # At 500 samples the upper bound (futility alpha 0.001 / 14) is about 0.38; it
    # passes 1/2 only if the votes exceed their mean by ~6 standard deviations.
    # Streams whose upper bound is just above 1/2 stop as converged: the radius
    # they could reach is below the tolerance. Either way nothing is claimed.
    assert all(o.stop in ("abstain", "converged") and o.n <= 500 for o in outcomes)
    assert sum(o.stop == "abstain" for o in outcomes) > 0.8 * TRIALS
    assert all(o.radius is None for o in outcomes)


def test_decision_certifies_when_p_is_comfortably_above_the_threshold() -> None:
    """Power: at p = Phi(1) + 0.05 nearly every stream certifies, most at an early look."""
    plan = SequentialPlan(LOOKS, ALPHA)
    rule = SequentialRule(plan, RadiusScale(1.0), target_radius=1.0)
    outcomes = simulate(rule, float(norm.cdf(1.0)) + 0.05, seed=4)
    assert sum(bool(o.certified_at_radius) for o in outcomes) > 0.99 * TRIALS
    assert np.median([o.n for o in outcomes]) <= 1_000


@pytest.mark.parametrize(("lift", "centre_error"), [(1.0, 0.0), (3.94, 0.0), (2.0, 1e-3)])
def test_decision_never_claims_more_than_certified_radius(lift: float, centre_error: float) -> None:
    """At every look and count, a decision to certify at R means certified_radius >= R."""
    scale = RadiusScale(0.25, lift, centre_error)
    target = 0.1
    rule = SequentialRule(SequentialPlan((100, 400, 1000), 0.001), scale, target_radius=target)
    for look, n in enumerate(rule.plan.looks):
        for n_a in range(0, n + 1, max(1, n // 200)):
            outcome = rule.at_look(look, n_a)
            radius = certified_radius(outcome.p_lower, 0.25, lift, centre_error)
            assert bool(outcome.certified_at_radius) == (radius is not None and radius >= target)


def test_alpha_split_sums_to_alpha() -> None:
    assert split_alpha(0.001, 1) == (0.001,)
    alphas = split_alpha(0.001, 8)
    assert alphas[:-1] == (0.001 / 14,) * 7 and alphas[-1] == 0.0005
    assert sum(alphas) == pytest.approx(0.001, rel=1e-12) and sum(alphas) <= 0.001 * (1 + 1e-15)


def test_looks_come_from_the_options_truncated_at_n() -> None:
    assert CertifyOptions(sampling="adaptive", n=10_000).look_plan() == (
        500, 1_000, 2_000, 5_000, 10_000)
    assert CertifyOptions(sampling="adaptive", n=3_000).look_plan() == (500, 1_000, 2_000, 3_000)
    assert CertifyOptions(sampling="adaptive", n=100).look_plan() == (100,)
    given = CertifyOptions(sampling="adaptive", n=700, looks="100, 300,900")
    assert given.look_plan() == (100, 300, 700)


@pytest.mark.parametrize("values", [
    {"looks": "100,100,200"}, {"looks": "300,200"}, {"looks": "0,10"}, {"looks": "a,b"},
    {"looks": ""}, {"looks": "1000", "n": 500}, {"radius": 0.0}, {"radius": -1.0},
    {"tolerance": 0.0}, {"tolerance": 1.5}, {"futility_alpha": 1.0},
])
def test_bad_adaptive_options_are_refused(values: dict[str, object]) -> None:
    with pytest.raises(InvalidOptionError):
        CertifyOptions.from_dict({"sampling": "adaptive", **values})


def test_adaptive_options_need_adaptive_sampling() -> None:
    with pytest.raises(InvalidOptionError, match="apply to sampling 'adaptive' only"):
        CertifyOptions(looks="100,200")
    with pytest.raises(InvalidOptionError, match="apply to sampling 'adaptive' only"):
        CertifyOptions(tolerance=0.1)


def test_a_radius_alone_selects_decision_mode() -> None:
    """`--radius R` (CLI), `radius=R` (API form and dashboard) all build their options here."""
    options = CertifyOptions.from_dict({"radius": 0.5, "sampling": "fixed"})
    assert options.sampling == "adaptive" and options.radius == 0.5
    assert CertifyOptions.from_dict(options.to_dict()) == options
    assert CertifyOptions().sampling == "fixed"


def test_the_plan_and_the_options_check_looks_alike() -> None:
    for looks in ((300, 200), (0, 10), (5, 5)):
        with pytest.raises(InvalidOptionError, match="strictly increasing") as from_plan:
            SequentialPlan(looks, 0.001)
        text = ",".join(map(str, looks))
        with pytest.raises(InvalidOptionError, match="strictly increasing") as from_options:
            CertifyOptions(sampling="adaptive", looks=text, n=10_000)
        assert from_plan.value.field == from_options.value.field == "looks"


# The confidence sequence (`sequential` cs): the same rate tests, on looks as dense as its default.
CS_LOOKS = (100, 200, 300, 500, 700, 1_000, 1_500, 2_000, 3_000, 5_000, 7_000, 10_000)


def test_cs_decision_false_certifications_stay_below_alpha() -> None:
    false, outcomes = false_decisions(SequentialPlan(CS_LOOKS, ALPHA, sequential="cs"), seed=5)
    assert false <= THRESHOLD
    assert np.mean([o.n for o in outcomes]) < CS_LOOKS[-1]


def test_cs_looks_without_the_sequence_fail_the_same_test() -> None:
    """The test of the test: Clopper-Pearson at the full alpha at each of the 12 looks."""
    false, _ = false_decisions(PeekingPlan(CS_LOOKS, ALPHA), seed=5)
    assert false > THRESHOLD


@pytest.mark.parametrize(("p", "tolerance"), [(0.55, 0.3), (0.9, 0.1)])
def test_cs_estimation_bound_at_the_stop_holds(p: float, tolerance: float) -> None:
    plan = SequentialPlan(CS_LOOKS, ALPHA, sequential="cs")
    outcomes = simulate(SequentialRule(plan, RadiusScale(1.0), tolerance=tolerance), p, seed=6)
    assert sum(o.p_lower > p for o in outcomes) <= THRESHOLD
    assert all(o.alpha == ALPHA for o in outcomes)  # the whole alpha at every look


def test_cs_decision_certifies_comfortable_inputs_early() -> None:
    """Power: at p = Phi(1) + 0.05 nearly every stream certifies, most within 1,000 samples."""
    plan = SequentialPlan(CS_LOOKS, ALPHA, sequential="cs")
    rule = SequentialRule(plan, RadiusScale(1.0), target_radius=1.0)
    outcomes = simulate(rule, float(norm.cdf(1.0)) + 0.05, seed=7)
    assert sum(bool(o.certified_at_radius) for o in outcomes) > 0.99 * TRIALS
    assert np.median([o.n for o in outcomes]) <= 1_000


def test_cs_plans_come_from_the_options_with_dense_default_looks() -> None:
    options = CertifyOptions(sampling="adaptive", n=1_000, sequential="cs")
    assert options.look_plan() == (100, 200, 300, 500, 700, 1_000)
    assert options.sequential_or_default == "cs"
    assert CertifyOptions(sampling="adaptive").sequential_or_default == "group"
