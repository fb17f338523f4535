"""A time-uniform confidence sequence for a binomial proportion (anytime-valid).

The bettor's wealth against a proportion `p`, betting on each vote with the
Laplace rule of succession `(S + 1) / (i + 1)`, is Robbins' uniform-mixture
martingale

    M_n(p) = B(S_n + 1, n - S_n + 1) / (p^S_n (1 - p)^(n - S_n)),

a nonnegative martingale with mean 1 when the votes are Bernoulli(p). By
Ville's inequality `P(sup_n M_n(p) >= 1 / alpha) <= alpha`, so the bounds
below hold at every `n` at once, hence at any stopping time, with no split of
alpha over looks (proof: docs/MATH.md). `log M_n(p)` is convex in p with its
minimum (<= 0) at `S_n / n`, so each bound is the one root on its side.
Bounds are rounded outwards: a float error widens the interval, never narrows it.
"""

import math

from scipy.optimize import brentq
from scipy.special import betaln

from certify_core.errors import InvalidOptionError
from certify_core.statistics import validate_alpha

# Absolute tolerance of the root; the result is then stepped outwards until
# the wealth there is at least 1 / alpha, which puts it on the safe side.
XTOL = 1e-15


def log_wealth(n_a: int, n: int, p: float) -> float:
    """log M_n(p) after `n_a` votes for the class in `n`."""
    value = betaln(n_a + 1, n - n_a + 1)
    if n_a:
        value -= n_a * math.log(p)
    if n - n_a:
        value -= (n - n_a) * math.log1p(-p)
    return float(value)


def _check(n_a: int, n: int, alpha: float) -> float:
    validate_alpha(alpha)
    if n < 1 or not 0 <= n_a <= n:
        raise InvalidOptionError(f"Expected 0 <= n_a <= n and n >= 1, got n_a={n_a}, n={n}.")
    return -math.log(alpha)


def cs_lower(n_a: int, n: int, alpha: float) -> float:
    """The largest p' such that every p < p' has wealth >= 1/alpha: P(ever above p) <= alpha."""
    level = _check(n_a, n, alpha)
    if n_a == 0:
        return 0.0
    if n_a == n:  # closed form: (n + 1) p^n = alpha
        root = math.exp((math.log(alpha) - math.log(n + 1)) / n)
    else:
        root = brentq(lambda p: log_wealth(n_a, n, p) - level, 1e-300, n_a / n, xtol=XTOL)
    while root > 0 and log_wealth(n_a, n, root) < level:
        root = max(0.0, root - XTOL * 4)
    return float(root)


def cs_upper(n_a: int, n: int, alpha: float) -> float:
    """The mirror image of `cs_lower`: P(the proportion ever exceeds it) <= alpha."""
    level = _check(n_a, n, alpha)
    upper = 1.0 - cs_lower(n - n_a, n, alpha)  # the mixture is symmetric in (p, n_a)
    while upper < 1.0 and log_wealth(n_a, n, upper) < level:  # 1 - x may round inwards
        upper = min(1.0, upper + XTOL * 4)
    return upper
