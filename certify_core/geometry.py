"""Patch geometry of Smooth-Reduce: where the k patches of an input lie.

The geometry is fixed *before any sampling* and is part of the base
classifier: resize the input to `resize`, cut `k` crops of `patch_size` at
`offsets`, resize each crop to the model's input size.
"""

from dataclasses import dataclass

import numpy as np

from certify_contract.geometry_check import RESIZE_MARGIN
from certify_contract.results import PatchLayout
from certify_core.errors import InvalidOptionError

Size = tuple[int, int]


@dataclass(frozen=True)
class PatchGeometry:
    """Resize, then `k` crops at fixed offsets, each resized to `model_size`."""

    input_size: Size
    resize: Size | None
    patch_size: Size
    offsets: tuple[Size, ...]
    model_size: Size

    def __post_init__(self) -> None:
        canvas = self.canvas_size
        if not self.offsets:
            raise InvalidOptionError("Expected at least one patch (k >= 1), got 0.")
        for size_name, size in (("patch_size", self.patch_size), ("canvas", canvas)):
            if min(size) < 1:
                raise InvalidOptionError(f"Expected a positive `{size_name}`, got {size}.")
        if self.patch_size[0] > canvas[0] or self.patch_size[1] > canvas[1]:
            raise InvalidOptionError(
                f"Patch size {self.patch_size} is larger than the image it is cut from {canvas}."
            )
        for oy, ox in self.offsets:
            if not (0 <= oy <= canvas[0] - self.patch_size[0]
                    and 0 <= ox <= canvas[1] - self.patch_size[1]):
                raise InvalidOptionError(
                    f"Patch offset ({oy}, {ox}) puts a {self.patch_size} patch outside {canvas}."
                )

    @property
    def canvas_size(self) -> Size:
        """Size of the image the crops are cut from (after the optional resize)."""
        return self.resize if self.resize is not None else self.input_size

    @property
    def k(self) -> int:
        return len(self.offsets)

    def describe(self) -> PatchLayout:
        """The layout as every certificate records it."""
        return PatchLayout(
            k=self.k,
            input_size=list(self.input_size),
            resize=list(self.resize) if self.resize is not None else None,
            patch_size=list(self.patch_size),
            offsets=[list(o) for o in self.offsets],
            model_size=list(self.model_size),
            interpolation="bilinear (align_corners=False, no antialias)",
        )


def _positions(extent: int, patch: int, stride: int) -> list[int]:
    if stride < 1:
        raise InvalidOptionError(f"Expected `stride` >= 1, got {stride}.")
    return list(range(0, extent - patch + 1, stride))


def grid_geometry(
    input_size: Size, model_size: Size, resize: Size | None, patch_size: Size, stride: int
) -> PatchGeometry:
    """Crops on a regular grid with the given stride (both axes)."""
    canvas = resize if resize is not None else input_size
    if patch_size[0] > canvas[0] or patch_size[1] > canvas[1]:
        raise InvalidOptionError(
            f"Patch size {patch_size} is larger than the image it is cut from {canvas}."
        )
    rows = _positions(canvas[0], patch_size[0], stride)
    cols = _positions(canvas[1], patch_size[1], stride)
    offsets = tuple((r, c) for r in rows for c in cols)
    return PatchGeometry(input_size, resize, patch_size, offsets, model_size)


def random_geometry(
    input_size: Size, model_size: Size, resize: Size | None, patch_size: Size, k: int, seed: int
) -> PatchGeometry:
    """`k` crops at offsets drawn uniformly with `seed`; offsets may repeat."""
    if k < 1:
        raise InvalidOptionError(f"Expected `patches` (k) >= 1, got {k}.")
    canvas = resize if resize is not None else input_size
    if patch_size[0] > canvas[0] or patch_size[1] > canvas[1]:
        raise InvalidOptionError(
            f"Patch size {patch_size} is larger than the image it is cut from {canvas}."
        )
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, canvas[0] - patch_size[0] + 1, size=k)
    cols = rng.integers(0, canvas[1] - patch_size[1] + 1, size=k)
    offsets = tuple((int(r), int(c)) for r, c in zip(rows, cols, strict=True))
    return PatchGeometry(input_size, resize, patch_size, offsets, model_size)


def default_resize(input_size: Size) -> Size:
    """Default Smooth-Reduce up-scale: 4 pixels larger, so stride 2 gives a 3 x 3 grid."""
    return (input_size[0] + RESIZE_MARGIN, input_size[1] + RESIZE_MARGIN)
