"""Certified upper bounds on the spectral norm of a patch lift map.

With independent per-patch noise the smoothed object is the lifted input
`u = L x` (resize, stack the k crops, resize each to the model input). Cohen's
radius holds in `u`-space, so the radius in input space is the `u`-space radius
divided by an *upper* bound on `||L||_2`. Power iteration approaches the norm
from below and would over-claim, so every value this module returns for use in
a radius is an upper bound:

* per-axis Gram eigenvalues, when the patch multiplicities factor over the
  axes (grids and other product geometries; exact),
* an eigen-decomposition of the dense Gram matrix (small maps, exact), or
* the Collatz-Wielandt bound `max_i (M v)_i / v_i` for `M = L^T L` and a
  positive `v`, valid because the interpolation and crop matrices, and hence
  `M`, have nonnegative entries (Perron-Frobenius).

The lift is separable: each patch is a Kronecker product of per-axis matrices
(rows, columns, and for video frames), so `M` is applied without forming it.
"""

import functools
import math
from collections import Counter
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from certify_core.geometry import PatchGeometry

# Relative margin added to every bound: covers rounding in float64 eigen
# solvers and matrix products, which is orders of magnitude smaller.
NORM_SAFETY_MARGIN = 1e-9
DENSE_LIMIT = 4096
AxisMatrices = tuple[np.ndarray, ...]


@dataclass(frozen=True)
class LiftNorm:
    """`upper` bounds `||L||_2` from above (use it); `lower` from below (diagnostic)."""

    upper: float
    lower: float
    method: str


def interpolation_matrix(n_in: int, n_out: int) -> np.ndarray:
    """The (n_out x n_in) matrix of torch's linear resize, align_corners=False."""
    if n_in == n_out:
        return np.eye(n_in)
    basis = torch.eye(n_in, dtype=torch.float64).unsqueeze(1)
    resized = F.interpolate(basis, size=n_out, mode="linear", align_corners=False)
    return resized[:, 0, :].T.numpy().copy()


def crop_matrix(n_in: int, start: int, length: int) -> np.ndarray:
    matrix = np.zeros((length, n_in))
    matrix[np.arange(length), start + np.arange(length)] = 1.0
    return matrix


@dataclass(frozen=True)
class SeparableLift:
    """`L = stack_p (A_p^1 ⊗ A_p^2 ⊗ ...)`, with patch multiplicities."""

    patches: tuple[AxisMatrices, ...]
    multiplicities: tuple[int, ...]

    def gram_terms(self) -> list[tuple[int, list[np.ndarray]]]:
        return [
            (m, [a.T @ a for a in mats])
            for m, mats in zip(self.multiplicities, self.patches, strict=True)
        ]

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(a.shape[1] for a in self.patches[0])

    def dense(self) -> np.ndarray:
        """The explicit matrix L (rows: stacked patches, row-major per patch)."""
        blocks = []
        for m, mats in zip(self.multiplicities, self.patches, strict=True):
            block = functools.reduce(np.kron, mats)
            blocks.extend([block] * m)
        return np.concatenate(blocks, axis=0)


def patch_lift(geometry: PatchGeometry) -> SeparableLift:
    """The lift of one image channel for `geometry` (all channels share it)."""
    canvas = geometry.canvas_size
    resize_rows = interpolation_matrix(geometry.input_size[0], canvas[0])
    resize_cols = interpolation_matrix(geometry.input_size[1], canvas[1])
    post_rows = interpolation_matrix(geometry.patch_size[0], geometry.model_size[0])
    post_cols = interpolation_matrix(geometry.patch_size[1], geometry.model_size[1])
    counts = Counter(geometry.offsets)
    patches = tuple(
        (
            post_rows @ crop_matrix(canvas[0], oy, geometry.patch_size[0]) @ resize_rows,
            post_cols @ crop_matrix(canvas[1], ox, geometry.patch_size[1]) @ resize_cols,
        )
        for oy, ox in counts
    )
    return SeparableLift(patches, tuple(counts.values()))


def _max_eigenvalue(symmetric: np.ndarray) -> float:
    return float(np.linalg.eigvalsh(symmetric)[-1])


def _matrix_key(matrix: np.ndarray) -> bytes:
    """Identity of a per-axis matrix by its exact float64 entries and shape."""
    return repr(matrix.shape).encode() + matrix.tobytes()


@dataclass(frozen=True)
class _AxisGrouping:
    """Patches grouped by their actual per-axis matrices, with total multiplicities."""

    matrices: list[dict[bytes, np.ndarray]]  # per axis: the distinct matrices
    multiplicity: Counter[tuple[bytes, ...]]  # per combination of matrices
    marginals: list[Counter[bytes]]  # per axis: multiplicity summed over the other axes


def _group_by_axis(lift: SeparableLift) -> _AxisGrouping:
    n_axes = len(lift.patches[0])
    matrices: list[dict[bytes, np.ndarray]] = [{} for _ in range(n_axes)]
    multiplicity: Counter[tuple[bytes, ...]] = Counter()
    marginals: list[Counter[bytes]] = [Counter() for _ in range(n_axes)]
    for mats, count in zip(lift.patches, lift.multiplicities, strict=True):
        keys = tuple(_matrix_key(mat) for mat in mats)
        multiplicity[keys] += count
        for axis, (key, mat) in enumerate(zip(keys, mats, strict=True)):
            matrices[axis].setdefault(key, mat)
            marginals[axis][key] += count
    return _AxisGrouping(matrices, multiplicity, marginals)


def _factorises(grouping: _AxisGrouping) -> bool:
    """Whether `m = a_1 ⊗ ... ⊗ a_K / T^(K-1)` holds exactly (integer arithmetic)."""
    sizes = [len(axis) for axis in grouping.matrices]
    if len(grouping.multiplicity) != math.prod(sizes):
        return False  # some combination of per-axis matrices is missing: not a product
    scale = sum(grouping.multiplicity.values()) ** (len(sizes) - 1)
    return all(
        count * scale == math.prod(
            marginal[key] for marginal, key in zip(grouping.marginals, keys, strict=True)
        )
        for keys, count in grouping.multiplicity.items()
    )


def product_norm_squared(lift: SeparableLift) -> float | None:
    """Exact `||L||^2` when the patch multiplicities factor over the axes; else None.

    Patches are grouped by their actual per-axis matrices, not by where they
    were cut: with heavy up-sampling, bilinear clamping at the borders makes
    different offsets give the same matrix, and such repeats must be weighted.
    Let `m(i_1, ..., i_K)` be the total multiplicity of the patches built from
    the distinct axis matrices `A^1_{i_1}, ..., A^K_{i_K}`, `a_k` its marginals
    and `T` its total. When `m = a_1 ⊗ ... ⊗ a_K / T^(K-1)`,
    `L^T L = T^(1-K) ⊗_k (sum_i a_k(i) A^k_i^T A^k_i)`, whose largest
    eigenvalue is the product of the per-axis ones (every factor is positive
    semi-definite). Any other pattern returns None, and the caller falls back
    to a bound that needs no structure.
    """
    grouping = _group_by_axis(lift)
    if not _factorises(grouping):
        return None
    value = 1.0 / sum(grouping.multiplicity.values()) ** (len(grouping.matrices) - 1)
    for matrices, marginal in zip(grouping.matrices, grouping.marginals, strict=True):
        value *= _max_eigenvalue(sum(marginal[key] * mat.T @ mat for key, mat in matrices.items()))
    return value


def _apply_gram(terms: list[tuple[int, list[np.ndarray]]], v: np.ndarray) -> np.ndarray:
    out = np.zeros_like(v)
    for multiplicity, grams in terms:
        w = v
        for axis, gram in enumerate(grams):
            w = np.moveaxis(np.tensordot(gram, w, axes=([1], [axis])), 0, axis)
        out += multiplicity * w
    return out


def collatz_wielandt_bound(
    lift: SeparableLift, max_iterations: int = 5000, tolerance: float = 1e-5
) -> tuple[float, float]:
    """(upper, lower) bounds on `||L||^2` from power iteration on `M = L^T L`.

    Every iterate is positive, so each `max_i (M v)_i / v_i` is an upper bound
    on the spectral radius of the nonnegative matrix `M`; the smallest seen is
    returned. The Rayleigh quotient is the matching lower bound.
    """
    terms = lift.gram_terms()
    v = np.ones(lift.input_shape)
    upper, lower = math.inf, 0.0
    for _ in range(max_iterations):
        w = _apply_gram(terms, v)
        upper = min(upper, float(np.max(w / v)))
        lower = max(lower, float(np.vdot(v, w) / np.vdot(v, v)))
        if upper - lower <= tolerance * upper:
            break
        v = np.maximum(w / np.max(w), 1e-200)
    return upper, lower


def dense_norm_squared(lift: SeparableLift) -> float:
    """Exact `||L||^2` from the eigenvalues of the explicit Gram matrix (small maps only)."""
    gram = sum(m * functools.reduce(np.kron, grams) for m, grams in lift.gram_terms())
    return _max_eigenvalue(np.asarray(gram))


def lift_norm_bound(lift: SeparableLift) -> LiftNorm:
    """A certified upper bound on `||L||_2` (and a lower bound for diagnostics)."""
    product = product_norm_squared(lift)
    if product is not None:
        value = math.sqrt(product)
        return LiftNorm(value * (1 + NORM_SAFETY_MARGIN), value, "exact-separable")
    if math.prod(lift.input_shape) <= DENSE_LIMIT:
        value = math.sqrt(dense_norm_squared(lift))
        return LiftNorm(value * (1 + NORM_SAFETY_MARGIN), value, "exact-dense")
    upper, lower = collatz_wielandt_bound(lift)
    return LiftNorm(
        math.sqrt(upper) * (1 + NORM_SAFETY_MARGIN), math.sqrt(lower), "collatz-wielandt"
    )


@functools.lru_cache(maxsize=256)
def geometry_lift_norm(geometry: PatchGeometry) -> LiftNorm:
    """Cached certified bound on the lift norm of a patch geometry."""
    return lift_norm_bound(patch_lift(geometry))
