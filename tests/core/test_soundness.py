"""Certified radii never exceed the exact distance to the smoothed boundary.

Base classifiers are linear so that the smoothed classifier's boundary is
known exactly. Each certificate is wrong with probability at most alpha; over
S seeds the number of violations is at most Binomial(S, alpha), so allowing 2
violations fails a correct implementation with probability below
C(S, 3) * alpha^3 (about 1.3e-3 for S = 200, alpha = 0.001, and 1.6e-4 for
S = 100). The seeds are fixed, so each run is also deterministic.
"""

import math

import numpy as np
import pytest
import torch
from scipy.stats import norm

from certify_core import CertifyOptions, certify, predict
from certify_core.geometry import PatchGeometry, random_geometry
from certify_core.lift import patch_lift
from tests.core.helpers import LinearScorer, as_loaded

SHAPE = (1, 8, 8)
SIGMA = 0.25
ALPHA = 0.001
ALLOWED_VIOLATIONS = 2


def boundary_input(direction: np.ndarray, margin: float) -> tuple[torch.Tensor, float]:
    """An input in [0.3, 0.7] and the bias putting it `margin` from the boundary."""
    rng = np.random.default_rng(7)
    x = rng.uniform(0.3, 0.7, size=SHAPE)
    bias = margin * np.linalg.norm(direction) - float(direction @ x.ravel())
    return torch.tensor(x, dtype=torch.float32), bias


def count_violations(
    model_w: np.ndarray, direction: np.ndarray, k: int, options: CertifyOptions,
    seeds: range, margin: float,
) -> tuple[int, list[float]]:
    """Certify over `seeds` an input `margin` from the ensemble's hyperplane.

    The k-patch ensemble picks class 1 iff sum_i (w . P_i x + b) > 0, that is
    iff `direction . x + k b > 0`, so its bias is the hyperplane's over k.
    """
    x, bias = boundary_input(direction, margin)
    model = as_loaded(LinearScorer(torch.tensor(model_w), bias / k), SHAPE, 2, SIGMA)
    radii = []
    violations = 0
    for seed in seeds:
        cert = certify(model, x, options, seed=seed)
        radius = 0.0 if cert.radius is None else cert.radius
        assert cert.abstained or cert.label == 1
        violations += radius > margin
        radii.append(radius)
    return violations, radii


def view_matrix(geometry: PatchGeometry) -> np.ndarray:
    return patch_lift(geometry).dense()


def ensemble_direction(geometry: PatchGeometry, w: np.ndarray) -> np.ndarray:
    """sum_i P_i^T w: the functional the k-patch ensemble sums (class 1 iff > -k b)."""
    views = view_matrix(geometry).reshape(geometry.k, -1, int(np.prod(SHAPE)))
    return np.einsum("kpi,p->i", views, w)


@pytest.fixture(scope="module")
def weights() -> np.ndarray:
    return np.random.default_rng(0).normal(size=int(np.prod(SHAPE))) / 8


def test_cohen_radius_never_exceeds_the_boundary_distance(weights: np.ndarray) -> None:
    options = CertifyOptions(n0=50, n=1000, alpha=ALPHA, batch_size=500)
    margin = 1.6 * SIGMA  # p = Phi(1.6) ~ 0.945: the bound does not saturate
    violations, radii = count_violations(weights, weights, 1, options, range(200), margin)
    assert violations <= ALLOWED_VIOLATIONS
    assert np.mean(radii) > 0.6 * margin  # tight enough that an over-claim would show


# With k = 2 patches and two classes, softmax-mean, softmax-max and logit-max
# all pick class 1 exactly when s_1 + s_2 > 0, and logit-mean does for any k:
# the ensemble is linear, so the smoothed boundary is exact.
ENSEMBLES = [
    ("mean", "softmax", 2),
    ("max", "softmax", 2),
    ("max", "logits", 2),
    ("mean", "logits", 9),
]


@pytest.mark.parametrize(("aggregate", "scores", "k"), ENSEMBLES)
def test_shared_smooth_reduce_radius_never_exceeds_boundary_distance(
    weights: np.ndarray, aggregate: str, scores: str, k: int
) -> None:
    options = CertifyOptions(
        method="smooth-reduce", aggregate=aggregate, scores=scores, noise="shared",  # type: ignore[arg-type]
        n0=50, n=1000, alpha=ALPHA, batch_size=900, resize=11, patch_size=8, patches=k,
        patch_seed=4,
    )
    geometry = options.geometry(SHAPE[1:], SHAPE[1:])
    assert geometry is not None and geometry.k == k
    direction = ensemble_direction(geometry, weights)
    margin = 1.6 * SIGMA
    violations, radii = count_violations(weights, direction, k, options, range(100), margin)
    assert violations <= ALLOWED_VIOLATIONS
    assert np.mean(radii) > 0.6 * margin


def test_independent_noise_naive_radius_over_claims_and_corrected_one_holds(
    weights: np.ndarray,
) -> None:
    """Counterexample: 4 identical patches, independent noise, logit-mean.

    h(u) = 1 iff sum_i (w . u_i + b) > 0 with u_i = x + sigma e_i, so the
    smoothed probability is Phi(2 m) for m = (w . x + b) / (sigma ||w||), and
    the smoothed classifier flips at distance m sigma from x. The naive radius
    sigma Phi^-1(p_lower) is close to 2 m sigma, twice too large.
    """
    k, m = 4, 0.8
    geometry = PatchGeometry(SHAPE[1:], None, SHAPE[1:], ((0, 0),) * k, SHAPE[1:])
    x, bias = boundary_input(weights, m * SIGMA)
    model = as_loaded(LinearScorer(torch.tensor(weights), bias), SHAPE, 2, SIGMA)
    options = CertifyOptions(
        method="smooth-reduce", aggregate="mean", scores="logits", noise="independent",
        n0=100, n=20_000, alpha=ALPHA, batch_size=4000, resize=8, patch_size=8, patches=k,
    )
    cert = certify(model, x, options, seed=11)
    assert cert.geometry is not None and cert.geometry["offsets"] == [list(o) for o in geometry.offsets]
    assert cert.label == 1 and cert.radius is not None
    true_distance = m * SIGMA
    naive = SIGMA * norm.ppf(cert.p_lower)

    # the concrete point: 0.9 sigma from x along -w, inside the naive ball
    unit = torch.tensor(weights / np.linalg.norm(weights), dtype=torch.float32).reshape(SHAPE)
    x_adv = x - 0.9 * SIGMA * unit
    distance = float(torch.linalg.vector_norm(x_adv - x))
    assert distance < naive
    assert float(x_adv.min()) >= 0 and float(x_adv.max()) <= 1
    exact_p = norm.cdf(math.sqrt(k) * (m - 0.9))  # smoothed P(class 1) at x_adv
    assert exact_p < 0.5
    flipped = predict(model, x_adv, CertifyOptions(
        method="smooth-reduce", aggregate="mean", scores="logits", noise="independent",
        n=20_000, alpha=ALPHA, batch_size=4000, resize=8, patch_size=8, patches=k,
    ), seed=12)
    assert flipped.label == 0  # the smoothed classifier really changes its mind

    assert cert.lift_norm == pytest.approx(2.0, rel=1e-8)
    assert cert.radius == pytest.approx(naive / 2.0, rel=1e-6)
    assert cert.radius < distance
    assert cert.radius <= true_distance


def test_independent_radius_sound_over_many_seeds(weights: np.ndarray) -> None:
    geometry = random_geometry(SHAPE[1:], SHAPE[1:], (11, 11), (8, 8), 2, seed=4)
    direction = ensemble_direction(geometry, weights)
    options = CertifyOptions(
        method="smooth-reduce", aggregate="max", scores="softmax", noise="independent",
        n0=50, n=1000, alpha=ALPHA, batch_size=900, resize=11, patch_size=8, patches=2, patch_seed=4,
    )
    # Smoothed boundary with independent noise: class 1 iff s_1 + s_2 > 0
    # where s_i = w . (P_i x + sigma e_i) + b, i.e. the same hyperplane as the
    # shared case; the certified radius must stay inside it.
    violations, _ = count_violations(weights, direction, 2, options, range(100), 1.6 * SIGMA)
    assert violations <= ALLOWED_VIOLATIONS
