"""Uploads to certified tensors: one entry point, one set of limits, one sandbox.

The worker and `certify local` both call `decode_upload` with the limits read
from the settings once per process and a `Sandbox` they keep open; `None`
instead of a sandbox decodes in the calling process, for trusted files only.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from certify_contract.option_spec import MediaKind
from certify_contract.results import DescribedInput, ImageInput
from certify_media.errors import MediaError
from certify_media.images import ImageLimits, decode_image
from certify_media.sandbox import IMAGE_DECODER, Sandbox, SandboxLimits
from certify_media.video import FramePolicy, VideoLimits, decode_video, decode_video_in_process

if TYPE_CHECKING:  # the settings are read by each process's entry point, never here
    from certify_settings import Settings


@dataclass(frozen=True)
class MediaLimits:
    """Every limit on decoding an upload: its content (image, video) and the sandbox."""

    image: ImageLimits
    video: VideoLimits
    sandbox: SandboxLimits

    @classmethod
    def from_settings(cls, settings: "Settings") -> "MediaLimits":
        return cls(
            ImageLimits(settings.max_image_bytes, settings.max_image_pixels),
            VideoLimits(),
            SandboxLimits.from_timeout(settings.decode_timeout_s, settings.decode_memory_bytes),
        )


@dataclass(frozen=True)
class DecodedUpload:
    """The certified tensor (float32 in [0, 1]) and how the upload became it."""

    array: np.ndarray
    described: DescribedInput


@dataclass(frozen=True)
class DecodeRequest:
    """What to decode an upload into: its kind, the certified tensor's shape, video frame policy."""

    kind: MediaKind
    shape: tuple[int, ...]
    frame_policy: FramePolicy = "uniform"
    fps: float | None = None


def decode_upload(
    data: bytes, request: DecodeRequest, limits: MediaLimits, sandbox: Sandbox | None
) -> DecodedUpload:
    """Decode `data` in `sandbox`, or in this process when `sandbox` is None (trusted files)."""
    shape = request.shape
    if request.kind == "video":
        if len(shape) != 4:
            raise MediaError("unsupported_model_input", f"The model takes input {shape}, not a video.")
        video_shape = (shape[0], shape[1], shape[2], shape[3])
        if sandbox is None:
            video = decode_video_in_process(data, video_shape, limits.video, request.frame_policy,
                                            request.fps)
        else:
            video = decode_video(data, video_shape, limits.video, request.frame_policy,
                                 request.fps, sandbox)
        return DecodedUpload(video.array, video.describe())
    if len(shape) != 3:
        raise MediaError("unsupported_model_input", f"The model takes input {shape}, not an image.")
    image_shape = (shape[0], shape[1], shape[2])
    if sandbox is None:
        image = decode_image(data, image_shape, limits.image)
        return DecodedUpload(image.array, image.describe())
    return _image_in_sandbox(data, image_shape, limits.image, sandbox)


def _image_in_sandbox(
    data: bytes, shape: tuple[int, int, int], limits: ImageLimits, sandbox: Sandbox
) -> DecodedUpload:
    params = {"shape": list(shape), "limits": {"max_bytes": limits.max_bytes,
                                                "max_pixels": limits.max_pixels}}
    meta, array = sandbox.run(IMAGE_DECODER, data, params)
    if array.shape != shape or array.dtype != np.float32:
        raise MediaError("decoder_crashed", f"The decoder returned {array.dtype} {array.shape}.")
    try:
        described = ImageInput(**meta)
    except TypeError as exc:
        raise MediaError("decoder_crashed", f"The decoder's reply is malformed ({exc}).") from None
    return DecodedUpload(array, described)
