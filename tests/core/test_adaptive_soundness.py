"""Adaptive sampling, end to end, against the variants a rate test at alpha cannot see.

- At an exact tie any certificate is false. Taking the label from the
  estimation counts (at every look) certifies the larger of two counts and
  doubles the rate, but the doubled rate can still be below alpha, so each tie
  test computes the rule's exact false-certification rate at a tie (dynamic
  programming over the looks) and puts its threshold between that rate and
  twice it. The failure probabilities below are binomial tails at those exact
  rates; the seeds are fixed, so every run is also deterministic.
- A stop that claims nothing (futility, abstention) must abstain end to end.
- Every certificate re-checks from its own record (`certify_core.record_check`),
  which catches accounting errors (the full alpha at the stopping look or the
  last one) that leave the measured rate below alpha.
"""

import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from scipy.stats import binom, norm

from certify_client.records import from_json
from certify_contract import Certificate
from certify_core import CertifyOptions, InvalidOptionError, certify
from certify_core.record_check import certificate_problems
from certify_core.sequential import RadiusScale, SequentialPlan, SequentialRule
from certify_core.statistics import clopper_pearson_lower
from tests.core.helpers import LinearScorer, as_loaded
from tests.core.test_adaptive import ADAPTIVE, SR_INDEPENDENT, SR_SHARED, boundary_model
from tests.core.test_soundness import ALLOWED_VIOLATIONS, SIGMA

COIN_SHAPE = (1, 1, 2)
COIN_X = torch.tensor([[[0.5, 0.25]]])
TIE = {"sampling": "adaptive", "n0": 10, "n": 200, "looks": "50,100", "alpha": 0.2,
       "batch_size": 200}


def coin(p_one: float) -> object:
    """Two classes; class 1 has probability `p_one` under the noise (1/2: an exact tie)."""
    bias = SIGMA * float(norm.ppf(p_one)) - 0.5
    return as_loaded(LinearScorer(torch.tensor([1.0, 0.0]), bias), COIN_SHAPE, 2, SIGMA)


def tie_rates(rule: SequentialRule) -> tuple[float, float]:
    """Exact chance that `rule` claims something at a tie: label from selection, and from argmax.

    The selected label's votes are Binomial(n, 1/2) whatever the selection; the
    argmax variant sees max(k, n - k) of a Binomial(n, 1/2) count k at every look.
    """
    rates = []
    for argmax in (False, True):
        alive, previous, false = np.array([1.0]), 0, 0.0
        for look, n in enumerate(rule.plan.looks):
            step = n - previous
            alive, previous = np.convolve(alive, binom.pmf(np.arange(step + 1), step, 0.5)), n
            for k in np.flatnonzero(alive > 1e-300):
                outcome = rule.at_look(look, int(max(k, n - k) if argmax else k))
                if outcome.stop is not None:
                    claims = outcome.certified_at_radius if rule.target_radius else outcome.radius
                    false += alive[k] if claims else 0.0
                    alive[k] = 0.0
        rates.append(false)
    return rates[0], rates[1]


def _tie_rule(options: CertifyOptions) -> SequentialRule:
    plan = SequentialPlan(options.look_plan(), options.alpha)
    return SequentialRule(plan, RadiusScale(SIGMA), options.radius)


@pytest.mark.parametrize(("radius", "trials", "sound", "threshold"), [
    # estimation: exact rates 0.0895 and 0.179; P(> 259 | sound) = 1.3e-9, P(<= 259 | argmax) = 1.2e-9
    (None, 2000, 0.0895, 259),
    # decision at R = 0.001: exact rates 0.1225 and 0.245; tails 1.6e-7 and 2.2e-7
    (0.001, 1000, 0.1225, 178),
])
def test_a_tie_certifies_at_the_rule_s_rate_not_twice_it(
        radius: float | None, trials: int, sound: float, threshold: int) -> None:
    options = CertifyOptions(**TIE, radius=radius)  # type: ignore[arg-type]
    rate, doubled = tie_rates(_tie_rule(options))
    assert rate == pytest.approx(sound, abs=5e-5) and doubled == pytest.approx(2 * rate, rel=1e-3)
    assert binom.sf(threshold, trials, rate) < 1e-6 and binom.cdf(threshold, trials, doubled) < 1e-6
    model = coin(0.5)
    certs = [certify(model, COIN_X, options, seed=seed) for seed in range(trials)]  # type: ignore[arg-type]
    claims = [c.certified_at_radius if radius else not c.abstained for c in certs]
    assert sum(bool(claim) for claim in claims) <= threshold


@pytest.mark.parametrize(("decision", "sequential"), [(None, None), (0.1, None), (0.1, "cs")],
                         ids=["estimation", "decision", "cs-decision"])
def test_stops_that_claim_nothing_abstain(decision: float | None, sequential: str | None) -> None:
    """Class 1 has probability 0.4 and one selection sample picks it 40% of the time.

    Any certificate for class 1 is false, so at most ALLOWED_VIOLATIONS of 40
    seeds may carry one (failure probability below C(40, 3) 0.001^3 = 1e-5);
    returning the selected label with radius 0 at an abstain or futility stop
    would give about 16.
    """
    options = CertifyOptions(sampling="adaptive", n0=1, n=3000, looks="100,300,1000",
                             alpha=0.001, batch_size=1000, radius=decision,
                             sequential=sequential)  # type: ignore[arg-type]
    certs = [certify(coin(0.4), COIN_X, options, seed=seed) for seed in range(40)]  # type: ignore[arg-type]
    assert sum(c.label == 1 for c in certs) <= ALLOWED_VIOLATIONS
    stops = {c.stop_reason for c in certs if c.selection_counts[1] == 1}
    assert stops <= {"abstain", "not_certifiable", "converged"} and len(stops) >= 1
    assert sum(c.selection_counts[1] == 1 for c in certs) >= 8  # the case is exercised


def _round_trip(cert: Certificate) -> Certificate:
    return from_json(Certificate, json.loads(json.dumps(cert.to_dict())))


def _certificates() -> list[Certificate]:
    """Adaptive and fixed certificates of every kind of stop, Cohen and Smooth-Reduce."""
    certs = []
    for method, margin in [({}, 0.5), (SR_SHARED, 0.5), (SR_INDEPENDENT, 0.4), ({}, 0.02),
                           ({}, -0.3)]:
        model, x = boundary_model(method, margin * SIGMA)
        for extra in [{"radius": 0.05}, {"radius": 0.14}, {"tolerance": 0.2}, {"tolerance": 0.01},
                      {"radius": 0.05, "sequential": "cs"}, {"tolerance": 0.2, "sequential": "cs"}]:
            options = CertifyOptions(**ADAPTIVE, **method, **extra)  # type: ignore[arg-type]
            certs += [certify(model, x, options, seed=seed) for seed in range(3)]
        fixed = CertifyOptions(n0=50, n=500, **method)  # type: ignore[arg-type]
        certs.append(certify(model, x, fixed, seed=0))
    return [_round_trip(cert) for cert in certs]


@pytest.fixture(scope="module")
def certificates() -> list[Certificate]:
    return _certificates()


def test_every_certificate_re_checks_from_its_own_record(certificates: list[Certificate]) -> None:
    for cert in certificates:
        assert certificate_problems(cert) == [], cert
    # teeth: the stops seen cover every kind, in both modes
    stops = {(c.radius_asked is None, c.stop_reason) for c in certificates if c.sampling == "adaptive"}
    assert {(False, "certified"), (False, "not_certifiable"), (True, "converged"),
            (True, "n_max")} <= stops
    assert any(c.abstained for c in certificates) and any(c.lift_norm > 1 for c in certificates)
    assert {c.sequential for c in certificates} == {None, "group", "cs"}


def test_the_re_check_sees_the_full_alpha_spent_at_the_stop(certificates: list[Certificate]) -> None:
    cert = next(c for c in certificates if c.stop_reason == "converged" and not c.abstained)
    assert cert.alpha_per_look is not None and cert.looks_taken is not None
    greedy = clopper_pearson_lower(cert.n_a, cert.n, cert.alpha)
    assert certificate_problems(replace(cert, p_lower=greedy))
    assert certificate_problems(replace(cert, alpha_per_look=[*cert.alpha_per_look[:-1], cert.alpha]))
    assert certificate_problems(replace(cert, tolerance=None))
    assert certificate_problems(replace(cert, label=1 - int(np.argmax(cert.selection_counts))))
    # a confidence sequence's bound is not Clopper-Pearson's at the same alpha
    assert certificate_problems(replace(cert, sequential="cs", alpha_per_look=None))


def test_a_radius_beyond_reach_is_refused_before_sampling() -> None:
    """1,000 samples certify at most 0.60 at sigma 0.25 (last look alpha / 2): asking for 0.7
    would only draw 1,000 samples to say "not certifiable"."""
    model, x = boundary_model({}, 0.5 * SIGMA)
    drawn: list[int] = []
    options = CertifyOptions(**ADAPTIVE, radius=0.7)  # type: ignore[arg-type]
    with pytest.raises(InvalidOptionError, match=r"largest radius they can give .* is 0\.60") as info:
        certify(model, x, options, seed=0, progress=lambda done, total: drawn.append(done))  # type: ignore[arg-type]
    assert info.value.field == "radius" and drawn == []
    reachable = CertifyOptions(**ADAPTIVE, radius=0.59)  # type: ignore[arg-type]
    assert certify(model, x, reachable, seed=0).stop_reason == "not_certifiable"
