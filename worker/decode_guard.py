"""Decode untrusted uploads outside the worker's own process.

Images go to a long-lived `worker.decode_server` process, which forks one
limited child per upload; video goes to `certify_media.decode_video`, which
runs its own guarded child. Every way a child can end becomes an array or a
`MediaError` with the same codes as the video guard.
"""

import math
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from certify_media.errors import MediaError
from worker.decode_server import read_frame, write_frame

# Beyond the decode's own limit, which the server enforces: time to fork and answer.
SERVER_GRACE_S = 10.0


@dataclass(frozen=True)
class DecodeLimits:
    timeout_s: float
    memory_bytes: int
    max_pixels: int


def _server_env() -> dict[str, str]:
    # One BLAS thread: thread pools reserve address space that RLIMIT_AS counts.
    return {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1"}


class ImageDecodeServer:
    """The worker's handle on its decoder process, started on first use and after a failure."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._running()

    def _running(self) -> subprocess.Popen[bytes]:
        if self._process is not None and self._process.poll() is not None:
            self.close()  # it died between uploads: replace it quietly
        if self._process is None:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "worker.decode_server"], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, env=_server_env())
        return self._process

    def decode(
        self, data: bytes, shape: tuple[int, ...], limits: DecodeLimits
    ) -> tuple[dict[str, Any], bytes]:
        process = self._running()
        assert process.stdin is not None and process.stdout is not None
        request = {"shape": list(shape), "max_pixels": limits.max_pixels,
                   "memory_bytes": limits.memory_bytes, "timeout_s": limits.timeout_s,
                   "cpu_seconds": math.ceil(limits.timeout_s)}
        try:
            write_frame(process.stdin.fileno(), request, data)
            deadline = time.monotonic() + limits.timeout_s + SERVER_GRACE_S
            return read_frame(process.stdout.fileno(), deadline)
        except (OSError, EOFError, TimeoutError, ValueError):
            self.close()  # a server that misbehaved is replaced for the next upload
            raise MediaError("decoder_crashed", "The image decoder process failed.") from None

    def close(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            for stream in (self._process.stdin, self._process.stdout):
                if stream is not None:
                    stream.close()
            self._process = None


def decode_guarded(
    kind: str, data: bytes, shape: tuple[int, ...], limits: DecodeLimits,
    images: ImageDecodeServer,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Decode `data` outside this process; the array has exactly `shape` on success."""
    if kind == "video":
        return _decode_video(data, shape, limits)
    if len(shape) != 3:
        raise MediaError("model_media_mismatch", f"The model takes input {shape}, not an image.")
    header, body = images.decode(data, shape, limits)
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
