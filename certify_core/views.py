"""The Smooth-Reduce view pipeline in torch: resize, crop k patches, resize each.

This is the linear map `L` of `certify_core.lift` applied to batches; the lift
tests check that the two agree on basis vectors.
"""

import numpy as np
import torch
import torch.nn.functional as F

from certify_core.geometry import PatchGeometry, Size


def resize_bilinear(images: torch.Tensor, size: Size) -> torch.Tensor:
    """Bilinear resize of (N, C, H, W), align_corners=False, no antialias."""
    if tuple(images.shape[-2:]) == tuple(size):
        return images
    return F.interpolate(images, size=size, mode="bilinear", align_corners=False)


def crop_index(geometry: PatchGeometry, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Row and column gather indices, shaped to cut all k patches at once."""
    offsets = torch.tensor(geometry.offsets, device=device)
    rows = offsets[:, 0, None] + torch.arange(geometry.patch_size[0], device=device)
    cols = offsets[:, 1, None] + torch.arange(geometry.patch_size[1], device=device)
    return rows[:, :, None], cols[:, None, :]


def extract_patches(images: torch.Tensor, geometry: PatchGeometry) -> torch.Tensor:
    """(N, C, H, W) -> (N, k, C, h, w): the k views the base model sees."""
    canvas = resize_bilinear(images, geometry.canvas_size)
    rows, cols = crop_index(geometry, images.device)
    patches = canvas[:, :, rows, cols]  # (N, C, k, d, d)
    patches = patches.transpose(1, 2)
    n, k, c, d0, d1 = patches.shape
    flat = resize_bilinear(patches.reshape(n * k, c, d0, d1), geometry.model_size)
    return flat.reshape(n, k, c, *geometry.model_size)


def view_matrix(geometry: PatchGeometry) -> np.ndarray:
    """The explicit matrix of `extract_patches` on one channel, from its basis images.

    Built from the torch pipeline in float64, independently of
    `certify_core.lift`, so that the lift bounds can be checked against an
    SVD of it. Rows: the k views stacked, row-major. Small geometries only.
    """
    h, w = geometry.input_size
    basis = torch.eye(h * w, dtype=torch.float64).reshape(h * w, 1, h, w)
    return extract_patches(basis, geometry).reshape(h * w, -1).T.numpy()
