"""Patch and clip geometry that the certifier would refuse, found before any job is queued.

The library builds the geometry with torch at hand; these checks need only
the model's input shape (from its manifest) and the options, so the API can
answer 422 at once instead of queuing a job that can only fail. The defaults
live here and the library reads them, so both sides agree.
"""

from collections.abc import Sequence

from certify_contract.errors import InvalidOptionError
from certify_contract.option_spec import MediaKind
from certify_contract.options import CertifyOptions

# Smooth-Reduce's default up-scale: 4 pixels larger, so stride 2 gives a 3 x 3 grid.
RESIZE_MARGIN = 4
# A video's certified tensor is this many clips long unless `frames` says otherwise.
FRAMES_PER_CLIP = 2
# Smooth-Reduce's default grid stride for image patches.
GRID_STRIDE = 2


def default_clip_stride(clip_length: int) -> int:
    """Half-overlapping clips by default: every frame is in at most two clips."""
    return max(1, clip_length // 2)


def check_geometry(options: CertifyOptions, kind: MediaKind, input_shape: Sequence[int]) -> None:
    """Raise `InvalidOptionError` when `options` give no valid patches or clips for a model
    taking `input_shape` ((C, H, W) for images, (C, T, H, W) for video clips)."""
    if options.method == "cohen":
        return
    if kind == "video":
        _check_clips(options, tuple(input_shape))
    else:
        _check_patches(options, tuple(input_shape))


def _check_patches(options: CertifyOptions, shape: tuple[int, ...]) -> None:
    if len(shape) != 3:
        raise InvalidOptionError(f"Expected an image input shape (C, H, W), got {shape}.")
    height, width = shape[1], shape[2]
    canvas = (options.resize, options.resize) if options.resize is not None \
        else (height + RESIZE_MARGIN, width + RESIZE_MARGIN)
    patch = (options.patch_size, options.patch_size) if options.patch_size is not None \
        else (min(height, canvas[0]), min(width, canvas[1]))
    if patch[0] > canvas[0] or patch[1] > canvas[1]:
        raise InvalidOptionError(
            f"Patch size {patch} is larger than the image it is cut from {canvas}; this model's "
            f"input is {height} x {width} (resized to `resize`, default {RESIZE_MARGIN} larger).",
            "patch_size")


def _check_clips(options: CertifyOptions, shape: tuple[int, ...]) -> None:
    if len(shape) != 4:
        raise InvalidOptionError(f"Expected a video clip shape (C, T, H, W), got {shape}.")
    frames = options.frames if options.frames is not None else FRAMES_PER_CLIP * shape[1]
    length = options.patch_size if options.patch_size is not None else shape[1]
    if length > frames:
        raise InvalidOptionError(f"Clip length {length} exceeds the video's {frames} frames.",
                                 "patch_size" if options.patch_size is not None else "frames")
