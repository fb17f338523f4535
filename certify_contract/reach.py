"""The largest radius adaptive decision mode could ever certify, known before sampling.

With every estimation vote for one class the bound at the last look is the
largest any run can report, so a radius asked beyond it can only end as
"not certifiable" after drawing up to `n` samples. The API refuses such a
request with 422 before queuing it, and the library refuses it before
sampling (there with the lift norm and the centre error, which only shrink
the radius; here they are taken as 1 and 0, so nothing reachable is refused).

Standard library only: `NormalDist` gives Phi^-1, and the all-votes bound is
in closed form: `alpha_K ** (1 / n)` for the group-sequential rule, whose last
look spends `alpha / 2` (all of alpha when there is one look), and
`(alpha / (n + 1)) ** (1 / n)` for the confidence sequence.
"""

from statistics import NormalDist

from certify_contract.errors import InvalidOptionError
from certify_contract.options import CertifyOptions

# The library's bound comes from scipy's beta quantile; the closed form here
# may differ from it in the last bits, and the API must not refuse a radius
# the library would reach.
SLACK = 1e-9


def all_votes_p_lower(options: CertifyOptions) -> float:
    """The bound adaptive sampling reports at its last look when all `n` votes agree."""
    n = options.n
    if options.sequential == "cs":  # the mixture's wealth 1 / ((n + 1) p^n) reaches 1 / alpha
        return float((options.alpha / (n + 1)) ** (1.0 / n))
    last_alpha = options.alpha if len(options.look_plan()) == 1 else options.alpha / 2
    return float(last_alpha ** (1.0 / n))


def largest_decision_radius(options: CertifyOptions, sigma: float) -> float:
    """sigma Phi^-1 of the all-votes bound: no run of these options certifies more."""
    return sigma * NormalDist().inv_cdf(all_votes_p_lower(options))


def check_reachable_radius(options: CertifyOptions, sigma: float | None) -> None:
    """Refuse a decision radius that `n` samples can never certify (InvalidOptionError)."""
    if options.sampling != "adaptive" or options.radius is None or sigma is None:
        return
    largest = largest_decision_radius(options, sigma)
    if options.radius > largest * (1 + SLACK):
        raise InvalidOptionError(unreachable_detail(options.radius, largest, options.n, sigma),
                                 "radius")


def unreachable_detail(radius: float, largest: float, n: int, sigma: float) -> str:
    return (f"`radius` {radius:g} cannot be certified with n = {n} samples at sigma {sigma:g}: "
            f"the largest radius they can give (every vote for one class) is {largest:.4f}. "
            "Raise `n` or ask about a smaller radius.")
