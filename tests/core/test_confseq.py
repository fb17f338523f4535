"""The confidence sequence behind `--sequential cs`: exact cases, the inversion, time-uniform coverage.

The coverage test draws Bernoulli(p) streams and asks whether the wealth
M_n(p) ever reaches 1 / alpha at any of the checked n; by the inversion test
that is exactly when some lower bound exceeds p. Ville's inequality bounds the
chance per stream by alpha, so the count over TRIALS streams is at most
Binomial(TRIALS, alpha) and the threshold (its 1 - 1e-6 quantile) fails a
sound sequence with probability below 1e-6. Seeds are fixed.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import betaln
from scipy.stats import binom

from certify_core.confseq import cs_lower, cs_upper, log_wealth

ALPHA = 0.05
TRIALS = 4_000
THRESHOLD = binom.ppf(1 - 1e-6, TRIALS, ALPHA)  # 259 of 4,000


@pytest.mark.parametrize(("n", "alpha"), [(1, 0.5), (100, 0.001), (1_000, 0.001), (100_000, 1e-6)])
def test_all_votes_give_the_closed_form(n: int, alpha: float) -> None:
    """(n + 1) p^n = 1 / alpha at the bound; it lies below Clopper-Pearson's alpha^(1/n)."""
    bound = cs_lower(n, n, alpha)
    exact = (alpha / (n + 1)) ** (1 / n)
    assert bound <= exact and bound == pytest.approx(exact, rel=1e-12)
    assert bound < alpha ** (1 / n)
    assert cs_upper(n, n, alpha) == 1.0 and cs_lower(0, n, alpha) == 0.0


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 20_000), st.floats(0.0, 1.0), st.sampled_from([0.2, 1e-3, 1e-6]))
def test_the_bounds_invert_the_wealth(n: int, frac: float, alpha: float) -> None:
    """Below the lower bound (and above the upper) the wealth is at least 1 / alpha; just
    inside it is below: the bound is the root, rounded outwards."""
    n_a = round(frac * n)
    level = -math.log(alpha)
    lower, upper = cs_lower(n_a, n, alpha), cs_upper(n_a, n, alpha)
    assert 0.0 <= lower <= n_a / n <= upper <= 1.0
    if lower > 0:
        assert log_wealth(n_a, n, lower) >= level
        inside = lower + 1e-9 * max(lower, 1e-3)
        assert inside >= n_a / n or log_wealth(n_a, n, inside) < level
    if upper < 1:
        assert log_wealth(n_a, n, upper) >= level


def test_the_wealth_is_the_laplace_bettor_s() -> None:
    """The closed form equals the product of the Laplace rule's bets, vote by vote."""
    votes = np.random.default_rng(0).random(300) < 0.8
    q, wealth, s = 0.7, 0.0, 0
    for i, vote in enumerate(votes):
        bet = (s + 1) / (i + 2)
        wealth += math.log(bet / q) if vote else math.log((1 - bet) / (1 - q))
        s += int(vote)
    assert log_wealth(s, len(votes), q) == pytest.approx(wealth, rel=1e-10)
    assert log_wealth(s, len(votes), q) == pytest.approx(
        float(betaln(s + 1, len(votes) - s + 1)) - s * math.log(q) - (len(votes) - s) * math.log(1 - q))


@pytest.mark.parametrize("p", [0.3, 0.84, 0.99])
def test_coverage_holds_at_every_n_at_once(p: float) -> None:
    rng = np.random.default_rng(int(p * 100))
    checks = np.arange(10, 5_001, 10)
    votes = np.cumsum(rng.random((TRIALS, checks[-1])) < p, axis=1)[:, checks - 1]
    wealth = (betaln(votes + 1, checks - votes + 1) - votes * math.log(p)
              - (checks - votes) * math.log1p(-p))
    ever = (wealth >= -math.log(ALPHA)).any(axis=1)
    assert ever.sum() <= THRESHOLD
    # teeth: the fixed-n Clopper-Pearson bound at every check would over-claim far more often
    from scipy.stats import beta

    peeking = (beta.ppf(ALPHA, np.maximum(votes, 1), checks - votes + 1) > p) & (votes > 0)
    assert peeking.any(axis=1).sum() > 2 * THRESHOLD
