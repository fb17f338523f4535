"""Adaptive sampling that stays sound: a group-sequential plan with a split alpha.

Stopping when the counts look good is peeking: with the full alpha at every
look the chance of a false certificate grows with the number of looks. Here
the looks `n_1 < ... < n_K = n_max` are fixed before estimation starts and
look k spends `alpha_k` (`alpha / (2(K-1))` at each early look, `alpha / 2` at
the last, so the sum is at most alpha). On the event that all K one-sided
Clopper-Pearson bounds hold, which has probability at least `1 - alpha`, the
bound reported at *any* look is valid, so any stopping rule is sound. Stops
that claim nothing (futility, abstention) use upper bounds with a separate
budget: they can only cost power, never soundness.

Torch-free: the rules see only vote counts, so they are tested on simulated
Bernoulli streams as well as on models.
"""

import math
from dataclasses import dataclass

from scipy.stats import beta

from certify_contract.options import DEFAULT_FUTILITY_ALPHA, DEFAULT_TOLERANCE, Sequential, check_looks
from certify_contract.results import StopReason
from certify_core.confseq import cs_lower, cs_upper
from certify_core.errors import InvalidOptionError
from certify_core.statistics import certified_radius, clopper_pearson_lower


def split_alpha(total: float, looks: int) -> tuple[float, ...]:
    """`total / (2(K-1))` at each of the K-1 early looks and `total / 2` at the last (sum = total)."""
    if looks == 1:
        return (total,)
    early = total / (2 * (looks - 1))
    return (*([early] * (looks - 1)), total / 2)


def clopper_pearson_upper(n_a: int, n: int, alpha: float) -> float:
    """One-sided (1 - alpha) Clopper-Pearson upper bound on a binomial proportion."""
    if n_a >= n:
        return 1.0
    return float(beta.ppf(1.0 - alpha, n_a + 1, n - n_a))


@dataclass(frozen=True)
class RadiusScale:
    """How a bound on p becomes a radius: exactly as `certified_radius` does it."""

    sigma: float
    lift_norm: float = 1.0
    centre_error: float = 0.0

    def radius(self, p: float) -> float | None:
        return certified_radius(p, self.sigma, self.lift_norm, self.centre_error)


@dataclass(frozen=True)
class SequentialPlan:
    """Looks declared before sampling, with the alpha and the futility budget each spends."""

    looks: tuple[int, ...]
    alpha: float
    futility_alpha: float = DEFAULT_FUTILITY_ALPHA
    # group: the looks split alpha (Clopper-Pearson at each); cs: one confidence sequence at
    # the full alpha, valid at every sample count at once (`certify_core.confseq`).
    sequential: Sequential = "group"

    def __post_init__(self) -> None:
        check_looks(self.looks)

    @property
    def alphas(self) -> tuple[float, ...]:
        """The alpha behind each look's bound (cs: the full alpha, spent once for all looks)."""
        if self.sequential == "cs":
            return (self.alpha,) * len(self.looks)
        return split_alpha(self.alpha, len(self.looks))

    @property
    def futility_alphas(self) -> tuple[float, ...]:
        if self.sequential == "cs":
            return (self.futility_alpha,) * len(self.looks)
        return split_alpha(self.futility_alpha, len(self.looks))

    def lower(self, look: int, n_a: int) -> float:
        """The bound on p at `look` with `n_a` votes; all looks' bounds hold at once w.p. 1 - alpha."""
        if self.sequential == "cs":
            return cs_lower(n_a, self.looks[look], self.alpha)
        return clopper_pearson_lower(n_a, self.looks[look], self.alphas[look])

    def upper(self, look: int, n_a: int) -> float:
        """An upper bound on p at `look` (futility budget), for the stops that claim nothing."""
        if self.sequential == "cs":
            return cs_upper(n_a, self.looks[look], self.futility_alpha)
        return clopper_pearson_upper(n_a, self.looks[look], self.futility_alphas[look])

    @property
    def n_max(self) -> int:
        return self.looks[-1]


@dataclass(frozen=True)
class LookOutcome:
    """The state after one look: the claim it allows and, if sampling stops here, why."""

    look: int
    n: int
    n_a: int
    alpha: float
    p_lower: float
    radius: float | None
    stop: StopReason | None
    certified_at_radius: bool | None = None


@dataclass(frozen=True)
class SequentialRule:
    """Decision mode when `target_radius` is set, else estimation mode with `tolerance` (x sigma)."""

    plan: SequentialPlan
    scale: RadiusScale
    target_radius: float | None = None
    tolerance: float = DEFAULT_TOLERANCE

    def at_look(self, look: int, n_a: int) -> LookOutcome:
        """What look `look` (0-based) allows with `n_a` of its `plan.looks[look]` votes."""
        n, alpha = self.plan.looks[look], self.plan.alphas[look]
        p_lower = self.plan.lower(look, n_a)
        radius = self.scale.radius(p_lower)
        last = look == len(self.plan.looks) - 1
        if self.target_radius is not None:
            # Judged by the very radius the certificate reports, so it never claims more.
            certified = radius is not None and radius >= self.target_radius
            stop: StopReason | None = "certified" if certified else None
            if stop is None and not last and self._cannot_reach(look, n_a, n):
                stop = "not_certifiable"
            if stop is None and last:
                stop = "n_max"
            return LookOutcome(look, n, n_a, alpha, p_lower, radius, stop, certified)
        stop = "n_max" if last else self._estimation_stop(look, n_a, n, radius)
        return LookOutcome(look, n, n_a, alpha, p_lower, radius, stop)

    def _upper(self, look: int, n_a: int, n: int) -> float:
        return self.plan.upper(look, n_a)

    def _cannot_reach(self, look: int, n_a: int, n: int) -> bool:
        assert self.target_radius is not None
        best = self.scale.radius(self._upper(look, n_a, n))
        return best is None or best < self.target_radius

    def _estimation_stop(self, look: int, n_a: int, n: int, radius: float | None) -> StopReason | None:
        p_upper = self._upper(look, n_a, n)
        if p_upper <= 0.5:
            return "abstain"
        # The best the last look could report if p were as high as its upper bound.
        n_max = self.plan.n_max
        best_votes = min(n_max, math.ceil(p_upper * n_max))
        best = self.scale.radius(self.plan.lower(len(self.plan.looks) - 1, best_votes))
        if (best or 0.0) - (radius or 0.0) <= self.tolerance * self.scale.sigma:
            return "converged"
        return None

    def largest_radius(self) -> float | None:
        """The radius of the last look with every vote for one class: no run reports more."""
        return self.at_look(len(self.plan.looks) - 1, self.plan.n_max).radius

    def check_reachable(self) -> None:
        """Refuse, before any sampling, a decision radius that n_max samples can never certify."""
        if self.target_radius is None:
            return
        largest = self.largest_radius()
        if largest is None or self.target_radius > largest:
            raise InvalidOptionError(
                f"`radius` {self.target_radius:g} cannot be certified with n = {self.plan.n_max} "
                f"samples at sigma {self.scale.sigma:g}: the largest radius they can give (every "
                f"vote for one class, lift norm {self.scale.lift_norm:.4g}) is "
                f"{largest or 0.0:.4f}. Raise `n` or ask about a smaller radius.", "radius")
