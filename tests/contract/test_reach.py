"""The largest decision radius, known before sampling, and the refusal of radii beyond it."""

import pytest

from certify_contract import CertifyOptions, InvalidOptionError
from certify_contract.reach import check_reachable_radius, largest_decision_radius
from certify_core.sequential import RadiusScale, SequentialPlan, SequentialRule


def test_the_issue_s_case_is_refused_with_its_largest_radius() -> None:
    """R = 1.0, sigma 0.25, alpha 0.001, n_max 100,000: at most 0.947 could ever be certified."""
    options = CertifyOptions(sampling="adaptive", n=100_000, alpha=0.001, radius=1.0)
    assert largest_decision_radius(options, 0.25) == pytest.approx(0.94694, abs=1e-5)
    with pytest.raises(InvalidOptionError, match=r"largest radius they can give.* is 0\.9469") as info:
        check_reachable_radius(options, 0.25)
    assert info.value.field == "radius"
    check_reachable_radius(CertifyOptions(sampling="adaptive", n=100_000, radius=0.94), 0.25)
    check_reachable_radius(options, None)  # the model's sigma is unknown: the library decides


@pytest.mark.parametrize(("n", "looks", "alpha", "sigma", "sequential"), [
    (100_000, None, 0.001, 0.25, None), (10_000, None, 0.001, 0.5, None),
    (400, "100,200", 0.01, 1.0, None),
    (50, None, 0.001, 0.25, None),  # one look: it spends all of alpha
    (100_000, None, 0.001, 0.25, "cs"), (1_000, "100,300", 0.01, 0.5, "cs"),
])
def test_the_contract_agrees_with_the_library_s_rule(
        n: int, looks: str | None, alpha: float, sigma: float, sequential: str | None) -> None:
    options = CertifyOptions(sampling="adaptive", n=n, looks=looks, alpha=alpha, radius=0.1,
                             sequential=sequential)  # type: ignore[arg-type]
    plan = SequentialPlan(options.look_plan(), alpha, sequential=options.sequential_or_default)
    rule = SequentialRule(plan, RadiusScale(sigma), 0.1)
    largest = rule.largest_radius()
    assert largest is not None
    # the library rounds its radii down by 1e-9: the contract never refuses what it reaches
    assert largest <= largest_decision_radius(options, sigma) <= largest * (1 + 2e-9)


def test_the_library_refuses_with_the_lift_norm_included() -> None:
    """Independent noise divides the radius by the lift norm: the library refuses what the
    contract (which cannot know the norm) lets through."""
    options = CertifyOptions(sampling="adaptive", n=10_000, radius=0.5)
    check_reachable_radius(options, 0.25)
    plan = SequentialPlan(options.look_plan(), options.alpha)
    SequentialRule(plan, RadiusScale(0.25), 0.5).check_reachable()
    with pytest.raises(InvalidOptionError, match=r"lift norm 3\.44"):
        SequentialRule(plan, RadiusScale(0.25, 3.44), 0.5).check_reachable()
