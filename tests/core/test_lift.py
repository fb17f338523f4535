"""The lift-norm bound is an upper bound on the exact spectral norm."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from certify_core.geometry import PatchGeometry, grid_geometry, random_geometry
from certify_core.lift import (
    NORM_SAFETY_MARGIN,
    SeparableLift,
    collatz_wielandt_bound,
    geometry_lift_norm,
    lift_norm_bound,
    patch_lift,
)
from certify_core.views import extract_patches


def pipeline_matrix(geometry: PatchGeometry) -> np.ndarray:
    """L built independently of certify_core.lift: the torch views of each basis image."""
    h, w = geometry.input_size
    basis = torch.eye(h * w, dtype=torch.float64).reshape(h * w, 1, h, w)
    views = extract_patches(basis, geometry)  # (hw, k, 1, mh, mw)
    return views.reshape(h * w, -1).T.numpy()


def exact_norm(matrix: np.ndarray) -> float:
    return math.sqrt(float(np.linalg.eigvalsh(matrix.T @ matrix)[-1]))


GEOMETRIES = [
    grid_geometry((28, 28), (28, 28), (32, 32), (28, 28), 2),  # the near-degenerate one
    grid_geometry((12, 12), (12, 12), (16, 16), (12, 12), 1),
    random_geometry((10, 10), (10, 10), (14, 14), (10, 10), 6, seed=3),
    random_geometry((9, 11), (8, 8), None, (5, 6), 5, seed=1),  # patches up-scaled to the model
    PatchGeometry((8, 8), None, (8, 8), ((0, 0),) * 4, (8, 8)),  # duplicated patches
]


@pytest.mark.parametrize("geometry", GEOMETRIES[1:], ids=str)
def test_separable_matrix_matches_torch_pipeline(geometry: PatchGeometry) -> None:
    np.testing.assert_allclose(patch_lift(geometry).dense(), pipeline_matrix(geometry), atol=1e-12)


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=lambda g: f"k{g.k}-{g.input_size}")
def test_bound_is_at_least_the_exact_norm(geometry: PatchGeometry) -> None:
    exact = exact_norm(pipeline_matrix(geometry))
    bound = geometry_lift_norm(geometry)
    assert bound.upper >= exact
    assert bound.upper <= exact * (1 + 1e-6)


def test_near_degenerate_geometry_values() -> None:
    geometry = GEOMETRIES[0]
    singular = np.linalg.svd(pipeline_matrix(geometry), compute_uv=False)
    assert singular[0] == pytest.approx(3.4351, abs=1e-4)
    assert singular[1] == pytest.approx(3.4214, abs=1e-4)
    assert geometry_lift_norm(geometry).upper >= singular[0]


def test_power_iteration_alone_would_under_claim() -> None:
    """After 50 iterations the Rayleigh estimate is below the norm; CW is above."""
    geometry = GEOMETRIES[0]
    exact = exact_norm(pipeline_matrix(geometry))
    upper_sq, lower_sq = collatz_wielandt_bound(patch_lift(geometry), max_iterations=50)
    assert math.sqrt(lower_sq) < exact - 1e-4  # a radius divided by this over-claims
    assert math.sqrt(upper_sq) >= exact
    upper_sq, _ = collatz_wielandt_bound(patch_lift(geometry))
    assert exact <= math.sqrt(upper_sq) <= exact * (1 + 1e-4)


def test_duplicated_patches_scale_the_norm_by_sqrt_k() -> None:
    assert geometry_lift_norm(GEOMETRIES[4]).upper == pytest.approx(2.0, rel=1e-8)


def test_large_geometries_use_collatz_wielandt() -> None:
    geometry = random_geometry((70, 70), (70, 70), (76, 76), (70, 70), 5, seed=0)
    bound = geometry_lift_norm(geometry)
    assert bound.method == "collatz-wielandt"
    assert bound.lower <= bound.upper <= bound.lower * (1 + 1e-4)


def test_collatz_wielandt_converges_to_the_exact_norm_from_above() -> None:
    geometry = random_geometry((24, 24), (24, 24), (30, 30), (24, 24), 7, seed=5)
    exact = exact_norm(pipeline_matrix(geometry))
    upper_sq, lower_sq = collatz_wielandt_bound(patch_lift(geometry))
    assert math.sqrt(lower_sq) <= exact * (1 + 1e-12)
    assert exact <= math.sqrt(upper_sq) * (1 + NORM_SAFETY_MARGIN) <= exact * (1 + 1e-4)


@settings(max_examples=25, deadline=None)
@given(
    size=st.integers(4, 9),
    grow=st.integers(0, 4),
    shrink=st.integers(0, 3),
    k=st.integers(1, 6),
    seed=st.integers(0, 1000),
)
def test_bound_dominates_exact_norm_on_random_small_geometries(
    size: int, grow: int, shrink: int, k: int, seed: int
) -> None:
    canvas = size + grow
    geometry = random_geometry(
        (size, size), (size, size), (canvas, canvas), (canvas - shrink, canvas - shrink), k, seed
    )
    exact = exact_norm(pipeline_matrix(geometry))
    bound = geometry_lift_norm(geometry)
    assert exact <= bound.upper <= exact * (1 + 1e-6)
    upper_sq, _ = collatz_wielandt_bound(patch_lift(geometry), max_iterations=3)
    # any iterate is an upper bound (up to the float64 margin the library adds)
    assert math.sqrt(upper_sq) * (1 + NORM_SAFETY_MARGIN) >= exact


def test_three_axis_lift_is_supported() -> None:
    frames = [np.eye(6)[s:s + 3] for s in (0, 2, 3)]
    lift = SeparableLift(tuple((f, np.eye(2), np.eye(2)) for f in frames), (1, 1, 1))
    exact = exact_norm(lift.dense())
    assert exact <= lift_norm_bound(lift).upper <= exact * (1 + 1e-6)
