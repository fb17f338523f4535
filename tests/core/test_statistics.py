"""Exact cases, property tests and a coverage test for the bounds."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import beta, binom, norm

from certify_core.errors import InvalidOptionError
from certify_core.statistics import (
    RADIUS_SAFETY_MARGIN,
    certified_radius,
    clopper_pearson_lower,
    max_certifiable_radius,
    predict_p_value,
)


@pytest.mark.parametrize("n", [1, 10, 100, 1000, 100_000])
@pytest.mark.parametrize("alpha", [0.001, 0.01, 0.05])
def test_all_votes_give_alpha_root(n: int, alpha: float) -> None:
    p_lower = clopper_pearson_lower(n, n, alpha)
    assert p_lower == pytest.approx(alpha ** (1 / n), rel=1e-12)


def test_max_radius_is_sigma_phi_inv_alpha_root() -> None:
    n, alpha, sigma = 1000, 0.001, 0.25
    exact = sigma * norm.ppf(alpha ** (1 / n))
    radius = certified_radius(clopper_pearson_lower(n, n, alpha), sigma)
    assert radius is not None
    assert radius <= exact
    assert radius >= exact * (1 - 10 * RADIUS_SAFETY_MARGIN)
    assert max_certifiable_radius(n, alpha, sigma) == pytest.approx(exact, rel=1e-12)


def test_zero_votes_abstain() -> None:
    assert clopper_pearson_lower(0, 1000, 0.001) == 0.0
    assert certified_radius(0.0, 0.25) is None


def test_a_tie_is_not_a_certificate() -> None:
    """At p_lower = 1/2 two classes may tie, so even the prediction at x is unsure."""
    assert certified_radius(0.5, 0.5) is None
    assert certified_radius(0.4999999, 0.5) is None
    just_above = certified_radius(0.5000001, 0.5)
    assert just_above is not None and 0.0 < just_above < 1e-6


def test_lifted_radius_no_larger_than_the_centre_error_abstains() -> None:
    lifted = 0.5 * norm.ppf(0.6)
    assert certified_radius(0.6, 0.5, 2.0, centre_error=lifted) is None
    radius = certified_radius(0.6, 0.5, 2.0, centre_error=0.1 * lifted)
    assert radius is not None and radius <= 0.9 * lifted / 2.0


@pytest.mark.parametrize("n", [1, 7, 100, 2500])
@pytest.mark.parametrize("alpha", [1e-4, 0.001, 0.05, 0.3])
def test_bound_equals_beta_quantile_on_grid(n: int, alpha: float) -> None:
    for n_a in sorted({1, n // 3, n // 2, n - 1, n} - {0}):
        expected = beta.ppf(alpha, n_a, n - n_a + 1)
        assert clopper_pearson_lower(n_a, n, alpha) == pytest.approx(expected, rel=1e-14)


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 10_000), frac=st.floats(0, 1), alpha=st.floats(1e-6, 0.5))
def test_bound_lies_below_the_point_estimate(n: int, frac: float, alpha: float) -> None:
    n_a = round(frac * n)
    p_lower = clopper_pearson_lower(n_a, n, alpha)
    assert 0.0 <= p_lower <= n_a / n


@settings(max_examples=200, deadline=None)
@given(n=st.integers(2, 5000), frac=st.floats(0, 1), alpha=st.floats(1e-6, 0.5))
def test_bound_is_monotone(n: int, frac: float, alpha: float) -> None:
    n_a = min(n - 1, round(frac * n))
    base = clopper_pearson_lower(n_a, n, alpha)
    assert clopper_pearson_lower(n_a + 1, n, alpha) >= base  # more votes
    assert clopper_pearson_lower(n_a, n, min(0.9, alpha * 2)) >= base  # less confidence
    if n_a > 0:
        # same proportion, ten times the samples: a tighter bound
        assert clopper_pearson_lower(10 * n_a, 10 * n, alpha) >= base - 1e-12


@settings(max_examples=100, deadline=None)
@given(p=st.floats(0.5, 1 - 1e-9, exclude_min=True), sigma=st.floats(0.01, 2),
       lift=st.floats(1, 10))
def test_radius_monotone_and_never_above_exact(p: float, sigma: float, lift: float) -> None:
    radius = certified_radius(p, sigma, lift)
    assert radius is not None
    exact = sigma * norm.ppf(p) / lift
    assert 0.0 <= radius <= max(exact, 0.0)
    higher = certified_radius(min(1 - 1e-12, p + 1e-3), sigma, lift)
    assert higher is not None and higher >= radius


def test_coverage_rate_matches_alpha() -> None:
    """The bound exceeds the true p at most at rate alpha.

    200,000 binomial draws with alpha = 0.05: the count of violations is at
    most Binomial(200000, 0.05) for a valid bound, so the assertion below fails
    with probability below 1e-6 (its threshold is that binomial's 1 - 1e-6
    quantile). The seed is fixed, so the test is also deterministic.
    """
    rng = np.random.default_rng(12345)
    trials, alpha = 200_000, 0.05
    threshold = binom.ppf(1 - 1e-6, trials, alpha)
    violations = 0
    for p, n in [(0.6, 50), (0.9, 200), (0.99, 1000), (0.999, 100)]:
        draws = rng.binomial(n, p, size=trials // 4)
        bounds = beta.ppf(alpha, draws, n - draws + 1)
        bounds[draws == 0] = 0.0
        # check our function agrees with the vectorised form on a sample
        for n_a in draws[:20]:
            assert clopper_pearson_lower(int(n_a), n, alpha) == pytest.approx(
                beta.ppf(alpha, n_a, n - n_a + 1) if n_a else 0.0, rel=1e-14
            )
        violations += int(np.sum(bounds > p))
    assert violations <= threshold
    # ... and the bound is not trivially loose: Clopper-Pearson is conservative
    # but not by an order of magnitude at these sizes.
    assert violations >= 0.2 * alpha * trials


def test_predict_p_value_matches_binomtest() -> None:
    assert predict_p_value(50, 50) == pytest.approx(1.0)
    assert predict_p_value(100, 0) == pytest.approx(2 * 0.5**100)
    assert predict_p_value(0, 0) == 1.0


@pytest.mark.parametrize("alpha", [0.0, 1.0, 1.5, -0.1, math.nan])
def test_alpha_outside_unit_interval_is_refused(alpha: float) -> None:
    with pytest.raises(InvalidOptionError, match="Expected `alpha` in \\(0, 1\\)"):
        clopper_pearson_lower(5, 10, alpha)


def test_bad_counts_are_refused() -> None:
    with pytest.raises(InvalidOptionError):
        clopper_pearson_lower(11, 10, 0.01)
    with pytest.raises(InvalidOptionError):
        clopper_pearson_lower(0, 0, 0.01)
    with pytest.raises(InvalidOptionError):
        certified_radius(0.9, 0.0)
