"""Video certification: the certified frame tensor and the clip ensemble.

A video model's manifest declares its clip shape (C, T_clip, H, W). The
certified input is the frame tensor (C, T_total, H, W) with
`T_total = options.frames` (default twice the clip length). Cohen smooths the
model run on the whole frame tensor (video models here pool over time, so any
length works); Smooth-Reduce cuts k clips (`patch_size` = clip length,
`stride` or `patches` + `patch_seed` = starts) and aggregates them, with the
noise modes and lift-corrected radius of the image case.
"""

import torch

from certify_core.base_classifier import BaseClassifier
from certify_core.clips import ClipGeometry, clip_lift_norm, grid_clips, random_clips
from certify_core.errors import InvalidOptionError
from certify_core.lift import LiftNorm
from certify_core.options import CertifyOptions

DEFAULT_VIDEO_MODEL = "moving-fmnist-c2d-s025"
DEFAULT_FRAMES_PER_CLIP = 2
IDENTITY_LIFT = LiftNorm(1.0, 1.0, "identity")


def video_input_shape(clip_shape: tuple[int, ...], options: CertifyOptions) -> tuple[int, ...]:
    """(C, T_total, H, W) of the certified tensor for a model taking `clip_shape`."""
    if len(clip_shape) != 4:
        raise InvalidOptionError(f"Expected a video clip shape (C, T, H, W), got {clip_shape}.")
    channels, clip_length, height, width = clip_shape
    frames = options.frames if options.frames is not None else DEFAULT_FRAMES_PER_CLIP * clip_length
    return (channels, frames, height, width)


def video_geometry(clip_shape: tuple[int, ...], options: CertifyOptions) -> ClipGeometry | None:
    """The clip layout for `options` (None for Cohen), fixed before sampling."""
    options.validate()
    if options.method == "cohen":
        return None
    if options.resize is not None:
        raise InvalidOptionError(
            "Option `resize` applies to image patches only; video clips are cut from the "
            "frame tensor as decoded."
        )
    frames = video_input_shape(clip_shape, options)[1]
    length = options.patch_size if options.patch_size is not None else clip_shape[1]
    if options.patches is not None:
        return random_clips(frames, length, options.patches, options.patch_seed)
    # Half-overlapping clips by default: every frame is in at most two clips.
    return grid_clips(frames, length, options.stride or max(1, length // 2))


def video_classifier(
    model: torch.nn.Module, num_classes: int, clip_shape: tuple[int, ...], options: CertifyOptions
) -> tuple[BaseClassifier, LiftNorm]:
    """The base classifier for `options`, and the lift norm its radius is divided by."""
    geometry = video_geometry(clip_shape, options)
    classifier = BaseClassifier(
        model, num_classes, geometry, options.aggregate, options.scores, options.noise
    )
    if geometry is None or options.noise == "shared":
        return classifier, IDENTITY_LIFT
    return classifier, clip_lift_norm(geometry)
