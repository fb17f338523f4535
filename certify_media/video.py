"""Bounded video decoding with PyAV, sampled to a model's (C, T, H, W) in [0, 1].

`decode_video` is what callers use: it checks the cheap limits, then decodes
in the sandbox (`certify_media.sandbox`), because FFmpeg may crash or hang on
crafted files. `decode_video_bytes` is the sandboxed child's side;
`decode_video_in_process` skips the sandbox, for trusted files only.

Frame policy (stated in every result):

* `uniform` (default): T frames evenly spread over all decoded frames, frame
  `floor((i + 1/2) * N / T)` for i < T in presentation order; a video with
  fewer than T frames repeats frames.
* `fps`: frames at times `t0 + i / fps`, each the last frame shown at that
  time; a video that ends early repeats its last frame.

The container is never probed by content: the leading bytes choose the
demuxer (mp4/mov, matroska/webm, avi), so playlist or network demuxers cannot
be reached. Frames are resized with FFmpeg's bilinear scaler as they are
decoded, so memory stays at (decoded frames x H x W x C) bytes.
"""

import io
import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from certify_contract.results import UNIT_RANGE, VideoInput
from certify_media.errors import MediaError
from certify_media.sandbox import VIDEO_DECODER, Sandbox
from certify_media.sniff import sniff_media_type

FramePolicy = Literal["uniform", "fps"]
RESIZE_METHOD = "ffmpeg-swscale-bilinear"
DEMUXERS = {"video/mp4": "mp4", "video/x-matroska": "matroska", "video/x-msvideo": "avi"}


@dataclass(frozen=True)
class VideoLimits:
    """What a video may claim and contain (the sandbox bounds the decoder itself)."""

    max_bytes: int = 100 * 1024 * 1024
    max_duration_s: float = 600.0
    max_frames: int = 3000
    max_side: int = 4096
    max_pixels: int = 4096 * 2304
    max_streams: int = 8


@dataclass(frozen=True)
class DecodedVideo:
    """`array` is float32 (C, T, H, W) in [0, 1]; `frame_indices` index decoded frames."""

    array: np.ndarray
    frame_indices: tuple[int, ...]
    timestamps: tuple[float, ...]
    source: dict[str, Any]
    policy: FramePolicy
    fps: float | None

    def describe(self) -> VideoInput:
        """The certified tensor and how the upload became it (goes into every result)."""
        return VideoInput(
            shape=list(self.array.shape), value_range=list(UNIT_RANGE), **self.source,
            frame_policy=self.policy, policy_fps=self.fps, frame_indices=list(self.frame_indices),
            frame_timestamps_s=list(self.timestamps), resize_method=RESIZE_METHOD,
        )


def decode_video(
    data: bytes,
    shape: tuple[int, int, int, int],
    limits: VideoLimits | None = None,
    policy: FramePolicy = "uniform",
    fps: float | None = None,
    sandbox: Sandbox | None = None,
) -> DecodedVideo:
    """Decode `data` to float32 (C, T, H, W) in [0, 1] in `sandbox` (default: a one-off one)."""
    limits = limits or VideoLimits()
    _check_request(data, shape, limits, policy, fps)
    params = {"shape": list(shape), "policy": policy, "fps": fps, "limits": asdict(limits)}
    if sandbox is None:
        with Sandbox() as one_off:
            meta, array = one_off.run(VIDEO_DECODER, data, params)
    else:
        meta, array = sandbox.run(VIDEO_DECODER, data, params)
    if array.shape != tuple(shape) or array.dtype != np.float32:
        raise MediaError("decoder_crashed", f"The decoder returned {array.dtype} {array.shape}.")
    return _decoded(meta, array, policy, fps)


def decode_video_in_process(
    data: bytes, shape: tuple[int, int, int, int], limits: VideoLimits | None = None,
    policy: FramePolicy = "uniform", fps: float | None = None,
) -> DecodedVideo:
    """`decode_video` without the sandbox: a crafted file can crash this process."""
    limits = limits or VideoLimits()
    _check_request(data, shape, limits, policy, fps)
    params = {"shape": list(shape), "policy": policy, "fps": fps, "limits": asdict(limits)}
    meta, array = decode_video_bytes(data, params)
    return _decoded(meta, array, policy, fps)


def _decoded(meta: dict[str, Any], array: np.ndarray, policy: FramePolicy,
             fps: float | None) -> DecodedVideo:
    try:
        return DecodedVideo(array, tuple(meta["frame_indices"]), tuple(meta["timestamps"]),
                            dict(meta["source"]), policy, fps)
    except (KeyError, TypeError, ValueError) as exc:
        raise MediaError("decoder_crashed", f"The decoder's reply is malformed ({exc}).") from None


def _check_request(
    data: bytes, shape: tuple[int, ...], limits: VideoLimits, policy: str, fps: float | None
) -> None:
    if len(shape) != 4 or shape[0] not in (1, 3) or min(shape) < 1:
        detail = f"Videos decode to (1 or 3, T, H, W), not {shape}."
        raise MediaError("unsupported_model_input", detail)
    if policy not in ("uniform", "fps") or (policy == "fps") != (fps is not None and fps > 0):
        detail = "Use frame policy 'uniform', or 'fps' with a positive fps."
        raise MediaError("invalid_frame_policy", detail)
    if len(data) == 0:
        raise MediaError("empty_file", "The file is empty.")
    if len(data) > limits.max_bytes:
        detail = f"The video has {len(data)} bytes; the limit is {limits.max_bytes}."
        raise MediaError("file_too_large", detail)
    if sniff_media_type(data[:16]) not in DEMUXERS:
        detail = "Not a video container this service reads (mp4, webm, mkv, avi)."
        raise MediaError("unsupported_media_type", detail)


# ----- the child's side: runs under the sandbox's resource limits -----


def decode_video_bytes(data: bytes, params: dict[str, Any]) -> tuple[dict[str, Any], np.ndarray]:
    """Sandbox target: decode, sample and resize; returns (meta, float32 array)."""
    import av  # here, not at the top: the API imports this package and never decodes

    limits = VideoLimits(**params["limits"])
    channels, frames, height, width = (int(v) for v in params["shape"])
    demuxer = DEMUXERS[sniff_media_type(data[:16]) or ""]
    try:
        with av.open(io.BytesIO(data), format=demuxer, metadata_errors="ignore") as container:
            stream, source = _probe(container, limits)
            decoded = _decode_small(container, stream, limits, (channels, height, width))
    except MediaError:
        raise
    except MemoryError:
        raise
    except av.error.EOFError as exc:
        # The container ends inside its own structure: a cut-off upload.
        raise MediaError("truncated_video", "The file ends before its video stream does.") from exc
    except (av.error.FFmpegError, ValueError, OSError, EOFError) as exc:
        raise MediaError("corrupt_video", f"The video cannot be decoded: {exc}") from exc
    pixels, times = decoded
    if not pixels:
        raise MediaError("no_frames", "The video stream has no decodable frames.")
    chosen = _select(times, frames, params["policy"], params["fps"])
    array = np.stack([pixels[i] for i in chosen], axis=1).astype(np.float32) / 255.0
    source["decoded_frames"] = len(pixels)
    meta = {"frame_indices": chosen, "timestamps": [times[i] for i in chosen], "source": source}
    return meta, array


def _probe(container: Any, limits: VideoLimits) -> tuple[Any, dict[str, Any]]:
    """Check the container's claims before decoding anything."""
    if len(container.streams) > limits.max_streams:
        count = len(container.streams)
        detail = f"The file has {count} streams; the limit is {limits.max_streams}."
        raise MediaError("too_many_streams", detail)
    if not container.streams.video:
        raise MediaError("no_video_stream", "The file has no video stream.")
    stream = container.streams.video[0]
    context = stream.codec_context
    _check_size(int(context.width or 0), int(context.height or 0), limits)
    claimed = container.duration / 1e6 if container.duration else None
    if claimed is not None and claimed > limits.max_duration_s:
        detail = f"The video claims {claimed:.1f} s; the limit is {limits.max_duration_s:g} s."
        raise MediaError("video_too_long", detail)
    context.thread_count = 1  # one core per decode: the worker shares the machine
    source = {
        "source_container": container.format.name,
        "source_codec": context.name,
        "source_size": [int(context.width or 0), int(context.height or 0)],
        "source_fps": float(stream.average_rate) if stream.average_rate else None,
    }
    return stream, source


def _check_size(width: int, height: int, limits: VideoLimits) -> None:
    if max(width, height) > limits.max_side or width * height > limits.max_pixels:
        raise MediaError("video_too_large",
                         f"The video is {width}x{height}; the limits are {limits.max_side} "
                         f"per side and {limits.max_pixels} pixels.")


def _decode_small(
    container: Any, stream: Any, limits: VideoLimits, target: tuple[int, int, int]
) -> tuple[list[np.ndarray], list[float]]:
    """All frames in presentation order, each resized to (C, H, W) uint8 at once."""
    channels, height, width = target
    fmt = "gray" if channels == 1 else "rgb24"
    pixels: list[np.ndarray] = []
    times: list[float] = []
    rate = float(stream.average_rate) if stream.average_rate else 25.0
    for frame in container.decode(stream):
        _check_size(frame.width, frame.height, limits)
        if len(pixels) >= limits.max_frames:
            detail = f"The video has more than {limits.max_frames} frames."
            raise MediaError("too_many_frames", detail)
        time = float(frame.time) if frame.time is not None else len(pixels) / rate
        if times and time - times[0] > limits.max_duration_s:
            detail = f"The video is longer than {limits.max_duration_s:g} s."
            raise MediaError("video_too_long", detail)
        small = frame.reformat(width=width, height=height, format=fmt, interpolation="BILINEAR")
        array = small.to_ndarray()
        pixels.append(array[None] if channels == 1 else array.transpose(2, 0, 1))
        times.append(time)
    return pixels, times


def _select(times: list[float], frames: int, policy: str, fps: float | None) -> list[int]:
    """Indices of the decoded frames that make up the T sampled frames."""
    count = len(times)
    if policy == "uniform":
        return [min(count - 1, math.floor((i + 0.5) * count / frames)) for i in range(frames)]
    assert fps is not None
    chosen, current = [], 0
    for i in range(frames):
        wanted = times[0] + i / fps
        while current + 1 < count and times[current + 1] <= wanted + 1e-9:
            current += 1
        chosen.append(current)
    return chosen
