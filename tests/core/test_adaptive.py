"""Adaptive sampling on real (linear) models: sound radii, the fixed-n noise stream, cancellation.

Linear base classifiers put the smoothed boundary at an exact distance (see
test_soundness). A certificate or a decision past that distance is false with
probability at most alpha = 0.001 per seed; allowing 2 of 40 seeds fails a
sound certifier with probability below C(40, 3) alpha^3 = 9.9e-6 per test.
"""

import numpy as np
import pytest
import torch

from certify_core import CertificationCanceled, CertifyOptions, certify
from tests.core.helpers import LinearScorer, as_loaded
from tests.core.test_soundness import (
    ALLOWED_VIOLATIONS,
    CONSTANT_WEIGHTS,
    SHAPE,
    SIGMA,
    boundary_input,
    ensemble_direction,
)

ADAPTIVE = {"sampling": "adaptive", "n0": 50, "n": 1000, "looks": "100,300", "alpha": 0.001,
            "batch_size": 900}
SR_SHARED = {"method": "smooth-reduce", "aggregate": "mean", "scores": "logits", "noise": "shared",
             "resize": 11, "patch_size": 8, "patches": 9, "patch_seed": 4}
SR_INDEPENDENT = {**SR_SHARED, "noise": "independent"}
# (method options, margin / sigma): independent noise with 9 overlapping patches and
# constant weights is the case where ignoring the lift norm over-claims ~3.6x.
SEEDS = 40
CASES = {
    "cohen": ({}, 1.6),
    "sr-shared": (SR_SHARED, 1.0),
    "sr-independent": (SR_INDEPENDENT, 0.4),
}


def boundary_model(method: dict[str, object], margin: float) -> tuple[object, torch.Tensor]:
    k = int(method.get("patches", 1))  # type: ignore[call-overload]
    if k == 1:
        direction = CONSTANT_WEIGHTS
    else:
        geometry = CertifyOptions(**method).geometry(SHAPE[1:], SHAPE[1:])  # type: ignore[arg-type]
        assert geometry is not None
        direction = ensemble_direction(geometry, CONSTANT_WEIGHTS)
    x, bias = boundary_input(direction, margin)
    return as_loaded(LinearScorer(torch.tensor(CONSTANT_WEIGHTS), bias / k), SHAPE, 2, SIGMA), x


@pytest.mark.slow  # over 10 s on 2 busy cores: `make test` runs it, `make test-fast` not
@pytest.mark.parametrize("case", list(CASES))
def test_decision_never_certifies_past_the_exact_distance(case: str) -> None:
    method, scale = CASES[case]
    margin = scale * SIGMA
    model, x = boundary_model(method, margin)
    beyond = CertifyOptions(**ADAPTIVE, **method, radius=1.05 * margin)  # type: ignore[arg-type]
    within = CertifyOptions(**ADAPTIVE, **method, radius=0.3 * margin)  # type: ignore[arg-type]
    false = sum(bool(certify(model, x, beyond, seed=s).certified_at_radius) for s in range(SEEDS))
    assert false <= ALLOWED_VIOLATIONS
    # teeth: well inside the boundary it certifies, mostly before n_max
    certs = [certify(model, x, within, seed=s) for s in range(20)]
    assert sum(bool(c.certified_at_radius) for c in certs) >= 15
    assert np.median([c.n for c in certs]) < 1000


@pytest.mark.slow  # over 10 s on 2 busy cores: `make test` runs it, `make test-fast` not
@pytest.mark.parametrize("case", list(CASES))
def test_estimation_never_certifies_past_the_exact_distance(case: str) -> None:
    method, scale = CASES[case]
    margin = scale * SIGMA
    model, x = boundary_model(method, margin)
    options = CertifyOptions(**ADAPTIVE, **method, tolerance=0.2)  # type: ignore[arg-type]
    radii = [certify(model, x, options, seed=s).radius or 0.0 for s in range(SEEDS)]
    assert sum(r > margin for r in radii) <= ALLOWED_VIOLATIONS
    assert np.mean(radii) > 0.4 * margin  # tight enough that an over-claim would show


@pytest.mark.parametrize("method", [{}, SR_SHARED], ids=["cohen", "sr-shared"])
def test_adaptive_counts_equal_fixed_n_on_the_same_prefix(method: dict[str, object]) -> None:
    """Same seed and looks: the counts where it stopped are the fixed-n counts at that n."""
    model, x = boundary_model(method, 0.5 * SIGMA)
    stops = set()
    for batch_size, radius in [(900, 0.05), (64, 0.05), (900, 0.12), (37, 0.12)]:
        adaptive = certify(model, x, CertifyOptions(
            **{**ADAPTIVE, "batch_size": batch_size}, **method, radius=radius), seed=5)  # type: ignore[arg-type]
        fixed = certify(model, x, CertifyOptions(
            n0=50, n=adaptive.n, batch_size=batch_size, **method), seed=5)  # type: ignore[arg-type]
        assert adaptive.selection_counts == fixed.selection_counts
        assert adaptive.estimation_counts == fixed.estimation_counts
        assert adaptive.looks is not None and adaptive.n == adaptive.looks[adaptive.looks_taken - 1]  # type: ignore[operator]
        stops.add((radius, adaptive.n, tuple(adaptive.estimation_counts)))
    assert len({stop[:2] for stop in stops}) == 2  # each radius stops at one look, whatever the batch
    assert len(stops) == 2


def test_the_certificate_records_how_it_was_sampled() -> None:
    model, x = boundary_model(SR_SHARED, 0.5 * SIGMA)
    cert = certify(model, x, CertifyOptions(**ADAPTIVE, **SR_SHARED, radius=0.05), seed=1)  # type: ignore[arg-type]
    assert cert.sampling == "adaptive" and cert.n_max == 1000 and cert.looks == [100, 300, 1000]
    assert cert.alpha_per_look == [0.00025, 0.00025, 0.0005]
    assert cert.stop_reason == "certified" and cert.certified_at_radius is True
    assert cert.radius_asked == 0.05 and cert.futility_alpha == 0.001
    assert cert.model_evaluations == (cert.n0 + cert.n) * 9
    fixed = certify(model, x, CertifyOptions(n0=50, n=200, **SR_SHARED), seed=1)  # type: ignore[arg-type]
    assert fixed.sampling == "fixed" and fixed.looks is None and fixed.stop_reason is None
    assert fixed.model_evaluations == 250 * 9


def test_cancellation_still_stops_within_one_batch() -> None:
    model, x = boundary_model({}, 0.5 * SIGMA)
    checks = []

    def cancel_after_five() -> bool:
        checks.append(1)
        return len(checks) > 5

    options = CertifyOptions(**{**ADAPTIVE, "batch_size": 50})  # type: ignore[arg-type]
    with pytest.raises(CertificationCanceled):
        certify(model, x, options, seed=0, should_cancel=cancel_after_five)
    assert len(checks) == 6  # one check per batch: it stopped at the first True
