"""The lift-norm bound is an upper bound on the exact spectral norm."""

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from certify_core.geometry import PatchGeometry, grid_geometry, random_geometry
from certify_core.lift import (
    NORM_SAFETY_MARGIN,
    SeparableLift,
    collatz_wielandt_bound,
    dense_norm_squared,
    geometry_lift_norm,
    lift_norm_bound,
    patch_lift,
    product_norm_squared,
)
from certify_core.views import view_matrix
from tests.core.helpers import CLAMPED_PAIRS


def exact_norm(matrix: np.ndarray) -> float:
    """The largest singular value, from an SVD of the explicit matrix."""
    return float(np.linalg.svd(matrix, compute_uv=False)[0])


GEOMETRIES = [
    grid_geometry((28, 28), (28, 28), (32, 32), (28, 28), 2),  # the near-degenerate one
    grid_geometry((12, 12), (12, 12), (16, 16), (12, 12), 1),
    random_geometry((10, 10), (10, 10), (14, 14), (10, 10), 6, seed=3),
    random_geometry((9, 11), (8, 8), None, (5, 6), 5, seed=1),  # patches up-scaled to the model
    PatchGeometry((8, 8), None, (8, 8), ((0, 0),) * 4, (8, 8)),  # duplicated patches
]


@pytest.mark.parametrize("geometry", GEOMETRIES[1:], ids=str)
def test_separable_matrix_matches_torch_pipeline(geometry: PatchGeometry) -> None:
    np.testing.assert_allclose(patch_lift(geometry).dense(), view_matrix(geometry), atol=1e-12)


@pytest.mark.slow  # over 10 s on 2 busy cores: `make test` runs it, `make test-fast` not
@pytest.mark.parametrize("geometry", GEOMETRIES, ids=lambda g: f"k{g.k}-{g.input_size[0]}x{g.input_size[1]}")
def test_bound_is_at_least_the_exact_norm(geometry: PatchGeometry) -> None:
    exact = exact_norm(view_matrix(geometry))
    bound = geometry_lift_norm(geometry)
    assert bound.upper >= exact
    assert bound.upper <= exact * (1 + 1e-6)


@pytest.mark.slow  # over 10 s on 2 busy cores: `make test` runs it, `make test-fast` not
def test_near_degenerate_geometry_values() -> None:
    geometry = GEOMETRIES[0]
    singular = np.linalg.svd(view_matrix(geometry), compute_uv=False)
    assert singular[0] == pytest.approx(3.4351, abs=1e-4)
    assert singular[1] == pytest.approx(3.4214, abs=1e-4)
    assert geometry_lift_norm(geometry).upper >= singular[0]


@pytest.mark.slow  # over 10 s on 2 busy cores: `make test` runs it, `make test-fast` not
def test_power_iteration_alone_would_under_claim() -> None:
    """After 50 iterations the Rayleigh estimate is below the norm; CW is above."""
    geometry = GEOMETRIES[0]
    exact = exact_norm(view_matrix(geometry))
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
    exact = exact_norm(view_matrix(geometry))
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
    exact = exact_norm(view_matrix(geometry))
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


def test_repeats_from_border_clamping_are_weighted() -> None:
    exact = exact_norm(view_matrix(CLAMPED_PAIRS))
    assert exact == pytest.approx(8 * math.sqrt(2), rel=1e-12)  # two duplicated pairs
    bound = geometry_lift_norm(CLAMPED_PAIRS)
    assert exact <= bound.upper <= exact * (1 + 1e-6)
    assert product_norm_squared(patch_lift(CLAMPED_PAIRS)) is None  # not a product: falls back


def test_clamped_grid_is_a_weighted_product() -> None:
    """A stride-1 grid on an 8x up-sampled canvas: four offsets per border share a matrix."""
    geometry = grid_geometry((6, 5), (6, 5), (48, 40), (2, 3), 1)
    lift = patch_lift(geometry)
    product = product_norm_squared(lift)
    assert product is not None  # row and column multiplicities still factor
    exact = exact_norm(view_matrix(geometry))
    assert math.sqrt(product) == pytest.approx(exact, rel=1e-9)
    assert geometry_lift_norm(geometry).method == "exact-separable"


def test_product_route_requires_factorising_multiplicities() -> None:
    rows = [np.eye(4)[s:s + 2] for s in (0, 1, 2)]
    cols = [np.eye(3)[s:s + 2] for s in (0, 1)]
    pairs = [(r, c) for r in rows for c in cols]
    rank_one = SeparableLift(tuple(pairs), (1, 2, 2, 4, 3, 6))  # (1, 2, 3) x (1, 2)
    not_rank_one = SeparableLift(tuple(pairs), (1, 2, 2, 4, 3, 5))
    for lift in (rank_one, not_rank_one):
        exact = exact_norm(lift.dense())
        assert exact <= lift_norm_bound(lift).upper <= exact * (1 + 1e-6)
    assert product_norm_squared(rank_one) == pytest.approx(dense_norm_squared(rank_one), rel=1e-9)
    assert product_norm_squared(not_rank_one) is None


def _axis_offsets(extent: int) -> st.SearchStrategy[int]:
    """Offsets along one axis, often inside the clamped border zones."""
    last = extent
    return st.one_of(st.integers(0, min(3, last)), st.integers(max(0, last - 3), last),
                     st.integers(0, last))


@st.composite
def degenerate_geometries(draw: st.DrawFn) -> PatchGeometry:
    """Up to 16x up-sampling, patches of 1-3 pixels, non-square, repeated offsets."""
    height, width = draw(st.integers(2, 7)), draw(st.integers(2, 7))
    canvas = (height * draw(st.integers(1, 16)), width * draw(st.integers(1, 16)))
    patch = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    assume(patch[0] <= canvas[0] and patch[1] <= canvas[1])
    offset = st.tuples(_axis_offsets(canvas[0] - patch[0]), _axis_offsets(canvas[1] - patch[1]))
    offsets = draw(st.lists(offset, min_size=1, max_size=6))
    offsets += draw(st.lists(st.sampled_from(offsets), max_size=3))  # exact repeats
    return PatchGeometry((height, width), canvas, patch, tuple(offsets), (height, width))


@pytest.mark.slow  # over 10 s on 2 busy cores: `make test` runs it, `make test-fast` not
@settings(max_examples=300, deadline=None)
@given(geometry=degenerate_geometries())
def test_every_route_bounds_the_svd_norm_on_degenerate_geometries(geometry: PatchGeometry) -> None:
    """Each route the library may take is an upper bound, not only the one it picks."""
    exact = exact_norm(view_matrix(geometry))
    lift = patch_lift(geometry)
    assert exact <= geometry_lift_norm(geometry).upper <= exact * (1 + 1e-6)
    product = product_norm_squared(lift)
    if product is not None:
        assert math.sqrt(product) * (1 + NORM_SAFETY_MARGIN) >= exact
    assert math.sqrt(dense_norm_squared(lift)) * (1 + NORM_SAFETY_MARGIN) >= exact
    upper_sq, _ = collatz_wielandt_bound(lift, max_iterations=3)
    assert math.sqrt(upper_sq) * (1 + NORM_SAFETY_MARGIN) >= exact
