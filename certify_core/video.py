"""Video certification: the certified frame tensor and the clip ensemble.

A video model's manifest declares its clip shape (C, T_clip, H, W). The
certified input is the frame tensor (C, T_total, H, W) with
`T_total = options.frames` (default twice the clip length). Cohen smooths the
model run on the whole frame tensor (video models here pool over time, so any
length works); Smooth-Reduce cuts k clips (`patch_size` = clip length,
`stride` or `patches` + `patch_seed` = starts) and aggregates them, with the
noise modes and lift-corrected radius of the image case.
"""

from certify_contract.geometry_check import FRAMES_PER_CLIP, default_clip_stride
from certify_contract.options import CertifyOptions
from certify_core.clips import ClipGeometry, grid_clips, random_clips
from certify_core.errors import InvalidOptionError

DEFAULT_VIDEO_MODEL = "moving-fmnist-c2d-s025"
DEFAULT_FRAMES_PER_CLIP = FRAMES_PER_CLIP


def video_input_shape(clip_shape: tuple[int, ...], options: CertifyOptions) -> tuple[int, ...]:
    """(C, T_total, H, W) of the certified tensor for a model taking `clip_shape`."""
    if len(clip_shape) != 4:
        raise InvalidOptionError(f"Expected a video clip shape (C, T, H, W), got {clip_shape}.")
    channels, clip_length, height, width = clip_shape
    frames = options.frames if options.frames is not None else DEFAULT_FRAMES_PER_CLIP * clip_length
    return (channels, frames, height, width)


def video_geometry(clip_shape: tuple[int, ...], options: CertifyOptions) -> ClipGeometry | None:
    """The clip layout for `options` (None for Cohen), fixed before sampling."""
    options.check_media("video")  # `resize` is for image patches: clips are cut as decoded
    if options.method == "cohen":
        return None
    frames = video_input_shape(clip_shape, options)[1]
    length = options.patch_size if options.patch_size is not None else clip_shape[1]
    if options.patches is not None:
        return random_clips(frames, length, options.patches, options.patch_seed)
    return grid_clips(frames, length, options.stride or default_clip_stride(length))
