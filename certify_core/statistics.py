"""The statistics behind CERTIFY and PREDICT (Cohen, Rosenfeld, Kolter 2019).

All functions are pure and work in float64. Radii are rounded *down*: a
floating-point error may shrink a certificate, never enlarge it.
"""

import math

from scipy.stats import beta, binomtest, norm

from certify_core.errors import InvalidOptionError

# Relative margin taken off every radius so that rounding in the beta
# quantile, the normal quantile and the division by the lift norm cannot make
# the reported radius larger than the exact one. It does not cover the float32
# rounding of a lifted centre (about 1e-5 relative): that is measured and
# passed as `centre_error` instead.
RADIUS_SAFETY_MARGIN = 1e-9


def validate_alpha(alpha: float) -> None:
    if not (isinstance(alpha, float | int) and 0.0 < alpha < 1.0):
        raise InvalidOptionError(f"Expected `alpha` in (0, 1), got {alpha}.")


def clopper_pearson_lower(n_a: int, n: int, alpha: float) -> float:
    """One-sided (1 - alpha) Clopper-Pearson lower bound on a binomial proportion.

    With probability at least 1 - alpha over the draw of `n_a ~ Binomial(n, p)`,
    the returned value is at most `p`.
    """
    validate_alpha(alpha)
    if n < 1:
        raise InvalidOptionError(f"Expected `n` >= 1, got {n}.")
    if not 0 <= n_a <= n:
        raise InvalidOptionError(f"Expected `n_a` in [0, {n}], got {n_a}.")
    if n_a == 0:
        return 0.0
    return float(beta.ppf(alpha, n_a, n - n_a + 1))


def certified_radius(
    p_lower: float, sigma: float, lift_norm: float = 1.0, centre_error: float = 0.0
) -> float | None:
    """L2 radius `(sigma * Phi^-1(p_lower) - centre_error) / lift_norm`, or None.

    Abstains (None) when `p_lower <= 1/2`: at exactly 1/2 a tie between two
    classes is possible, so not even the prediction at the input is certain.
    `lift_norm` is a certified upper bound on the norm of the linear map the
    noise is applied after (1 when noise is added to the input itself), and
    `centre_error` an upper bound on the distance between the exact lifted
    input and the (rounded) centre the noise was added to; a lifted radius
    that does not exceed it certifies nothing, so that abstains too.
    """
    if sigma <= 0:
        raise InvalidOptionError(f"Expected `sigma` > 0, got {sigma}.")
    if not lift_norm > 0:
        raise InvalidOptionError(f"Expected `lift_norm` > 0, got {lift_norm}.")
    if not centre_error >= 0:
        raise InvalidOptionError(f"Expected `centre_error` >= 0, got {centre_error}.")
    if p_lower <= 0.5:
        return None
    raw = (sigma * float(norm.ppf(p_lower)) - centre_error) / lift_norm
    if raw <= 0:
        return None
    return math.nextafter(raw * (1.0 - RADIUS_SAFETY_MARGIN), 0.0)


def max_certifiable_radius(n: int, alpha: float, sigma: float) -> float:
    """The largest radius `n` samples can certify: all `n` votes for one class."""
    return sigma * float(norm.ppf(alpha ** (1.0 / n)))


def predict_p_value(n1: int, n2: int) -> float:
    """Two-sided binomial test that the top class beats the runner-up (PREDICT)."""
    if n1 + n2 == 0:
        return 1.0
    return float(binomtest(n1, n1 + n2, 0.5).pvalue)
