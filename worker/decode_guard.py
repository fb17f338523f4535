"""Decode untrusted uploads outside the worker's own process.

Images go to `worker.decode_child`, video to `certify_media.decode_video`
(which runs its own guarded child). Every way a child can end becomes an
array or a `MediaError` with the same codes as the video guard.
"""

import json
import math
import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

from certify_media.errors import MediaError


@dataclass(frozen=True)
class DecodeLimits:
    timeout_s: float
    memory_bytes: int
    max_pixels: int


def _child_env() -> dict[str, str]:
    # One BLAS thread: thread pools reserve address space that RLIMIT_AS counts.
    return {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1"}


def decode_guarded(
    kind: str, data: bytes, shape: tuple[int, ...], limits: DecodeLimits
) -> tuple[np.ndarray, dict[str, Any]]:
    """Decode `data` in a child process; the array has exactly `shape` on success."""
    if kind == "video":
        return _decode_video(data, shape, limits)
    argv = [sys.executable, "-m", "worker.decode_child", ",".join(map(str, shape)),
            str(limits.max_pixels), str(limits.memory_bytes), str(math.ceil(limits.timeout_s))]
    try:
        done = subprocess.run(argv, input=data, capture_output=True, timeout=limits.timeout_s,
                              env=_child_env(), check=False)
    except subprocess.TimeoutExpired:
        raise MediaError("decoder_timeout",
                         f"Decoding the upload took longer than {limits.timeout_s:g} s.") from None
    if done.returncode != 0:
        raise MediaError("decoder_crashed", "The decoder process died on this upload "
                         f"(exit status {done.returncode}); the file is probably malformed.")
    return _parse(done.stdout, shape)


def _parse(stdout: bytes, shape: tuple[int, ...]) -> tuple[np.ndarray, dict[str, Any]]:
    head, _, body = stdout.partition(b"\n")
    try:
        header = json.loads(head)
    except ValueError:
        detail = "The decoder process gave no readable answer."
        raise MediaError("decoder_crashed", detail) from None
    if "code" in header:
        raise MediaError(str(header["code"]), str(header["detail"]))
    array = np.frombuffer(body, dtype="<f4")
    if tuple(header["shape"]) != tuple(shape) or array.size != math.prod(shape):
        raise MediaError("decoder_crashed", "The decoder returned an array of the wrong shape.")
    return array.reshape(shape).astype(np.float32), dict(header["info"])


def _decode_video(
    data: bytes, shape: tuple[int, ...], limits: DecodeLimits
) -> tuple[np.ndarray, dict[str, Any]]:
    from certify_media import GuardLimits, VideoLimits, decode_video

    if len(shape) != 4:
        raise MediaError("model_media_mismatch", f"The model takes input {shape}, not a video.")
    guard = GuardLimits(cpu_seconds=math.ceil(limits.timeout_s), wall_seconds=limits.timeout_s,
                        memory_bytes=limits.memory_bytes)
    decoded = decode_video(data, (shape[0], shape[1], shape[2], shape[3]),
                           VideoLimits(max_bytes=max(len(data), 1), guard=guard))
    return decoded.array, decoded.describe()
