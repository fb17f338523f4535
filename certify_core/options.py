"""The patch geometry that certification options give an image.

The options themselves (types, defaults, bounds, rules) are defined once, in
`certify_contract.options`; this module adds what needs the library.
"""

from certify_contract.geometry_check import GRID_STRIDE
from certify_contract.options import CertifyOptions as ContractOptions
from certify_core.geometry import (
    PatchGeometry,
    Size,
    default_resize,
    grid_geometry,
    random_geometry,
)

DEFAULT_STRIDE = GRID_STRIDE


def patch_geometry(options: ContractOptions, input_size: Size, model_size: Size) -> PatchGeometry | None:
    """The patch geometry for an input of `input_size` (None for Cohen)."""
    if options.method == "cohen":
        return None
    resize = (options.resize, options.resize) if options.resize is not None else default_resize(input_size)
    patch: Size = (
        (options.patch_size, options.patch_size)
        if options.patch_size is not None
        else (min(model_size[0], resize[0]), min(model_size[1], resize[1]))
    )
    if options.patches is not None:
        return random_geometry(input_size, model_size, resize, patch, options.patches, options.patch_seed)
    return grid_geometry(input_size, model_size, resize, patch, options.stride or DEFAULT_STRIDE)


class CertifyOptions(ContractOptions):
    """The contract's options, with their image patch geometry at hand (for library callers)."""

    def geometry(self, input_size: Size, model_size: Size) -> PatchGeometry | None:
        return patch_geometry(self, input_size, model_size)
