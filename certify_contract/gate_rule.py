"""The release-gate rule over images, in the standard library only.

The API advances gates without numpy or scipy (its image installs neither),
the local command line and the simulations run the same rule: one definition.
For an image drawn in a random order from the set, C = 1 when its
decision-mode certificate names the true label at radius R. A certificate is
false with probability at most `alpha`, so q = P(C = 1) <= mu + alpha, where
mu is the fraction of images whose smoothed prediction is correct and robust
at R. The looks (numbers of images) are declared before the first image and
`delta` is split evenly across them; on the event that every look's
Clopper-Pearson lower bound holds (probability >= 1 - delta),
`q_L - alpha <= mu` at every look, so a pass at any look is right. The gate
passes when `q_L - alpha >= A` and fails ("not shown") when the upper bound,
at its own level, is below `A + alpha`: that stop claims nothing and spends
no delta (proof in docs/MATH.md, "Release gates").

Both tests are monotone in the certified count k, so each look reduces to two
integers (`pass_from`, `fail_upto`), found once by bisection over k.
"""

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import cached_property
from typing import Any

from certify_contract.errors import InvalidOptionError
from certify_contract.gates import GateOutcome, GateVerdict

FIRST_LOOK = 50
PASS, FAIL, UNDECIDED, GO_ON = 1, -1, 0, 2
CODES: dict[int, GateOutcome] = {PASS: "pass", FAIL: "fail", UNDECIDED: "undecided"}
_TINY = 1e-300


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


def _beta_fraction(a: float, b: float, x: float) -> float:
    """Lentz's continued fraction of the incomplete beta function (converges for x < (a+1)/(a+b+2))."""
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, 100_000):
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                          -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + numerator / c
            c = c if abs(c) > _TINY else _TINY
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            return h
    raise ArithmeticError(f"incomplete beta did not converge (a={a}, b={b}, x={x})")


def beta_cdf(x: float, a: float, b: float) -> float:
    """The regularized incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                 + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_fraction(b, a, 1.0 - x) / b


def beta_quantile(level: float, a: float, b: float) -> float:
    """x with I_x(a, b) = level, by bisection to the last bit a double can resolve."""
    low, high = 0.0, 1.0
    for _ in range(200):
        middle = (low + high) / 2.0
        if middle in (low, high):
            break
        if beta_cdf(middle, a, b) < level:
            low = middle
        else:
            high = middle
    return (low + high) / 2.0


def cp_lower_one(k: int, n: int, level: float) -> float:
    """One-sided (1 - level) Clopper-Pearson lower bound (0 when k = 0)."""
    return beta_quantile(level, k, n - k + 1) if k > 0 else 0.0


def cp_upper_one(k: int, n: int, level: float) -> float:
    """One-sided (1 - level) Clopper-Pearson upper bound (1 when k = n)."""
    return beta_quantile(1.0 - level, k + 1, n - k) if k < n else 1.0


@dataclass(frozen=True)
class GateRule:
    """Looks declared up front; `delta` split over them; per-image `alpha`; threshold A."""

    looks: tuple[int, ...]
    min_accuracy: float
    radius: float
    delta: float = 0.01
    alpha: float = 0.001

    def __post_init__(self) -> None:
        if not self.looks or self.looks[0] < 1 or any(
                b <= a for a, b in zip(self.looks, self.looks[1:], strict=False)):
            raise InvalidOptionError(f"Expected increasing looks, got {self.looks}.", "looks")
        for name in ("min_accuracy", "delta", "alpha"):
            value = getattr(self, name)
            if not 0.0 < value < 1.0:
                raise InvalidOptionError(f"Expected `{name}` in (0, 1), got {value}.", name)

    @property
    def look_delta(self) -> float:
        return split_delta(self.delta, len(self.looks))

    def bounds_one(self, look: int, certified: int) -> tuple[float, float]:
        """Lower and upper bounds on q at look `look` (0-based) from a certified count."""
        n = self.looks[look]
        return cp_lower_one(certified, n, self.look_delta), cp_upper_one(certified, n, self.look_delta)

    def passes(self, look: int, certified: int) -> bool:
        return certified >= self.pass_from[look]

    def fails(self, look: int, certified: int) -> bool:
        return certified <= self.fail_upto[look]

    def code(self, look: int, certified: int) -> int:
        """PASS, FAIL, UNDECIDED (last look only) or GO_ON (a pass wins over a fail)."""
        if self.passes(look, certified):
            return PASS
        if self.fails(look, certified):
            return FAIL
        return UNDECIDED if look == len(self.looks) - 1 else GO_ON

    @cached_property
    def pass_from(self) -> tuple[int, ...]:
        """Per look, the least count that passes (`n + 1`: none does)."""
        def passing(look: int) -> Callable[[int], bool]:
            return lambda k: self.bounds_one(look, k)[0] - self.alpha >= self.min_accuracy
        return tuple(_first_true(passing(look), 0, n + 1) for look, n in enumerate(self.looks))

    @cached_property
    def fail_upto(self) -> tuple[int, ...]:
        """Per look, the greatest count that fails (-1: none does)."""
        def holding(look: int) -> Callable[[int], bool]:
            return lambda k: self.bounds_one(look, k)[1] >= self.min_accuracy + self.alpha
        return tuple(_first_true(holding(look), 0, n + 1) - 1 for look, n in enumerate(self.looks))

    def verdict(self, look: int, images: int, certified: int, model_evaluations: int,
                set_size: int, *, unrun: int = 0) -> GateVerdict:
        """The record of a gate that stopped at `look`. `unrun`: images of the look whose
        certification was not needed (the service stops a wave early); the lower bound
        counts them as not certified and the upper bound as certified, so both stay valid
        whatever they would have shown."""
        high = certified + unrun
        if self.passes(look, certified):
            code = PASS
        elif self.fails(look, high):
            code = FAIL
        elif look == len(self.looks) - 1:  # claims nothing, whatever was not run
            code = UNDECIDED
        else:
            raise ValueError(f"the gate does not stop at look {look} with {certified} certified "
                             f"and {unrun} unrun")
        lower = cp_lower_one(certified, self.looks[look], self.look_delta)
        upper = cp_upper_one(high, self.looks[look], self.look_delta)
        return GateVerdict(
            verdict=CODES[code], radius=self.radius, min_accuracy=self.min_accuracy,
            confidence=1.0 - self.delta, alpha=self.alpha, accuracy_lower=lower - self.alpha,
            q_lower=lower, q_upper=upper, images=images, certified=certified,
            model_evaluations=model_evaluations, looks=self.looks, looks_taken=look + 1,
            set_size=set_size)


def recheck_report(payload: dict[str, Any]) -> list[str]:
    """A signed gate report's verdict re-derived from its own record: the rule it states and
    the images it lists (drawn position, certified correct or not). Each earlier look, whole,
    must have gone on; the stopping look's images that were not run count as the verdict
    counts them (not certified for the lower bound, certified for the upper). Returns the
    differences, one line each (none: the verdict follows from the record)."""
    rule_record, stated = payload["rule"], payload["verdict"]
    rule = GateRule(tuple(rule_record["looks"]), rule_record["min_accuracy"],
                    rule_record["radius"], 1.0 - rule_record["confidence"], rule_record["alpha"])
    images, problems = payload["images"], []

    def certified_before(end: int) -> int:
        return sum(bool(image["certified"]) for image in images if image["position"] < end)

    stop = int(stated["looks_taken"]) - 1
    for look in range(stop):
        if rule.code(look, certified_before(rule.looks[look])) != GO_ON:
            problems.append(f"the gate should have stopped at look {look + 1}")
    end = rule.looks[stop]
    ran = sum(1 for image in images if image["position"] < end)
    try:
        derived = rule.verdict(stop, len(images), certified_before(end),
                               sum(int(image["model_evaluations"]) for image in images),
                               int(stated["set_size"]), unrun=end - ran)
    except ValueError as exc:
        return [*problems, f"verdict: {exc}"]
    for name, value in asdict(derived).items():
        recorded = stated.get(name)
        same = (math.isclose(value, recorded, rel_tol=1e-12, abs_tol=1e-15)
                if isinstance(value, float) and isinstance(recorded, (int, float))
                else list(value) == list(recorded) if isinstance(value, tuple)
                else value == recorded)
        if not same:
            problems.append(f"verdict.{name}: the record gives {value!r}, the report says "
                            f"{recorded!r}")
    return problems


def _first_true(predicate: Callable[[int], bool], low: int, high: int) -> int:
    """The least k in [low, high) where a monotone (False..True) predicate holds, else high."""
    while low < high:
        middle = (low + high) // 2
        if predicate(middle):
            high = middle
        else:
            low = middle + 1
    return low
