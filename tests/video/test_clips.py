"""Temporal clip geometry, its lift norm, and the soundness of clip aggregation.

As in tests/core/test_soundness.py, base classifiers are linear so that the
smoothed classifier's boundary is known exactly; over S seeds at most 2
violations are allowed, which fails a correct implementation with
probability below C(S, 3) * alpha^3 (1.6e-4 for S = 100, alpha = 0.001).
"""

import math

import numpy as np
import pytest
import torch
from scipy.stats import norm

from certify_contract import ClipLayout
from certify_core import CertifyOptions, certify, predict
from certify_core.clips import (
    ClipGeometry,
    clip_lift,
    clip_lift_norm,
    extract_clips,
    grid_clips,
    random_clips,
)
from certify_core.errors import InputShapeError, InvalidOptionError
from certify_core.lift import crop_matrix, lift_norm_bound
from certify_core.models import LoadedModel, ModelManifest
from tests.core.helpers import LinearScorer

CLIP = (1, 4, 3, 3)  # the model's (C, T_clip, H, W)
SIGMA = 0.25
ALPHA = 0.001


def as_video_model(module: torch.nn.Module, clip_shape: tuple[int, ...] = CLIP) -> LoadedModel:
    manifest = ModelManifest("video-test", "state_dict", "w.pt", clip_shape, ("0", "1"), SIGMA,
                             kind="video")
    return LoadedModel("video-test", module.eval(), manifest, "0" * 64, torch.device("cpu"))


GEOMETRIES = [
    grid_clips(10, 4, 2),
    grid_clips(16, 8, 4),
    grid_clips(7, 7, 1),
    random_clips(12, 4, 6, seed=3),
    ClipGeometry(9, 3, (0, 0, 0, 2, 5)),
]


def explicit_matrix(geometry: ClipGeometry, height: int, width: int) -> np.ndarray:
    """The lift written out in clip order: frame selection (x) identity (x) identity."""
    blocks = [
        np.kron(np.kron(crop_matrix(geometry.frames, start, geometry.clip_length), np.eye(height)),
                np.eye(width))
        for start in geometry.starts
    ]
    return np.concatenate(blocks, axis=0)


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_lift_norm_bounds_the_explicit_matrix(geometry: ClipGeometry) -> None:
    spatial = clip_lift(geometry, height=3, width=2)
    exact = float(np.linalg.svd(explicit_matrix(geometry, 3, 2), compute_uv=False)[0])
    bound = clip_lift_norm(geometry)
    assert bound.upper >= exact
    assert bound.upper == pytest.approx(exact, rel=1e-8)
    assert bound.upper == pytest.approx(math.sqrt(max(geometry.coverage())), rel=1e-8)
    assert lift_norm_bound(spatial).upper >= exact  # identity axes included: same bound


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_clip_extraction_is_the_lift_matrix(geometry: ClipGeometry) -> None:
    video = torch.rand((2, 1, geometry.frames, 3, 2), dtype=torch.float64)
    clips = extract_clips(video, geometry)
    assert clips.shape == (2, geometry.k, 1, geometry.clip_length, 3, 2)
    matrix = torch.from_numpy(explicit_matrix(geometry, 3, 2))
    expected = video.reshape(2, -1) @ matrix.T
    torch.testing.assert_close(clips.reshape(2, -1), expected)


def test_geometry_validation() -> None:
    assert grid_clips(16, 8, 4).starts == (0, 4, 8)
    assert random_clips(12, 4, 5, seed=1) == random_clips(12, 4, 5, seed=1)
    with pytest.raises(InvalidOptionError, match="outside"):
        ClipGeometry(8, 4, (5,))
    with pytest.raises(InvalidOptionError, match="exceeds"):
        grid_clips(4, 8, 1)


def test_certified_tensor_is_the_whole_frame_tensor() -> None:
    model = as_video_model(LinearScorer(torch.ones(36), -10.0))
    x = torch.full((1, 8, 3, 3), 0.5)  # default frames: twice the clip length
    options = CertifyOptions(method="smooth-reduce", n0=20, n=100)
    cert = certify(model, x, options, seed=0)
    assert cert.input["shape"] == [1, 8, 3, 3]
    assert cert.geometry == ClipLayout("temporal-clips", k=3, frames=8, clip_length=4,
                                       starts=[0, 2, 4])
    with pytest.raises(InputShapeError):
        certify(model, torch.full((1, 4, 3, 3), 0.5), options, seed=0)
    with pytest.raises(InvalidOptionError, match="image models only"):
        certify(model, x, CertifyOptions(method="smooth-reduce", resize=5, n0=5, n=5), seed=0)


def linear_input(direction: np.ndarray, margin: float, shape: tuple[int, ...]) -> tuple[torch.Tensor, float]:
    """An input in [0.3, 0.7] and the bias putting it `margin` from `direction . x + bias = 0`."""
    x = np.random.default_rng(7).uniform(0.3, 0.7, size=shape)
    bias = margin * np.linalg.norm(direction) - float(direction @ x.ravel())
    return torch.tensor(x, dtype=torch.float32), bias


@pytest.mark.parametrize(("noise", "aggregate", "scores"), [
    ("shared", "mean", "logits"), ("shared", "max", "logits"), ("independent", "mean", "logits"),
])
def test_clip_radius_never_exceeds_the_boundary_distance(noise: str, aggregate: str, scores: str) -> None:
    """Two overlapping clips of a linear scorer: the ensemble is linear in x.

    Shared noise: class 1 iff d . x + 2 b > 0 for d = sum_i P_i^T w (with k = 2,
    max of logits picks class 1 exactly when the sum of scores is positive).
    Independent noise has the same smoothed boundary; its radius is divided by
    ||L|| = sqrt(2).
    """
    w = np.random.default_rng(0).normal(size=int(np.prod(CLIP))) / 6
    geometry = ClipGeometry(6, 4, (0, 2))
    views = explicit_matrix(geometry, 3, 3).reshape(2, -1, 6 * 9)
    direction = np.einsum("kpi,p->i", views, w)
    margin = 1.6 * SIGMA
    x, bias = linear_input(direction, margin, (1, 6, 3, 3))
    model = as_video_model(LinearScorer(torch.tensor(w), bias / 2))
    options = CertifyOptions(method="smooth-reduce", noise=noise, aggregate=aggregate,  # type: ignore[arg-type]
                             scores=scores, frames=6, stride=2, n0=50, n=1000, alpha=ALPHA,  # type: ignore[arg-type]
                             batch_size=1000)
    radii = []
    for seed in range(100):
        cert = certify(model, x, options, seed=seed)
        assert cert.abstained or cert.label == 1
        radii.append(0.0 if cert.radius is None else cert.radius)
    assert sum(r > margin for r in radii) <= 2
    assert np.mean(radii) > 0.4 * margin  # tight enough that an over-claim would show


def test_independent_noise_duplicated_clips_naive_radius_over_claims() -> None:
    """Counterexample: 4 copies of the same clip, independent noise, logit mean.

    h(u) = 1 iff sum_i (w . u_i + b) > 0 with u_i = x + sigma e_i: the smoothed
    probability is Phi(2 m) for m = (w . x + b) / (sigma ||w||), so the smoothed
    classifier flips at distance m sigma, while the naive radius
    sigma Phi^-1(p_lower) is close to 2 m sigma.
    """
    k, m = 4, 0.8
    w = np.random.default_rng(1).normal(size=int(np.prod(CLIP))) / 6
    x, bias = linear_input(w, m * SIGMA, CLIP)
    model = as_video_model(LinearScorer(torch.tensor(w), bias))
    # frames == clip length: every random start is 0, so the 4 clips coincide
    options = CertifyOptions(method="smooth-reduce", aggregate="mean", scores="logits",
                             noise="independent", frames=4, patches=k, n0=100, n=20_000,
                             alpha=ALPHA, batch_size=4000)
    cert = certify(model, x, options, seed=11)
    assert cert.geometry is not None and cert.geometry["starts"] == [0, 0, 0, 0]
    assert cert.label == 1 and cert.radius is not None
    naive = SIGMA * norm.ppf(cert.p_lower)
    unit = torch.tensor(w / np.linalg.norm(w), dtype=torch.float32).reshape(CLIP)
    x_adv = x - 0.9 * SIGMA * unit  # 0.9 sigma away: inside the naive ball, past the boundary
    assert float(torch.linalg.vector_norm(x_adv - x)) < naive
    assert float(x_adv.min()) >= 0 and float(x_adv.max()) <= 1
    assert norm.cdf(math.sqrt(k) * (m - 0.9)) < 0.5  # exact smoothed P(class 1) at x_adv
    flipped = predict(model, x_adv, options, seed=12)
    assert flipped.label == 0
    assert cert.lift_norm == pytest.approx(2.0, rel=1e-8)
    assert cert.radius == pytest.approx(naive / 2.0, rel=1e-6)
    assert cert.radius <= m * SIGMA
