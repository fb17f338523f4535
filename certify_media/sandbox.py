"""One sandbox for decoding untrusted media, images and video alike.

Pillow and FFmpeg (inside PyAV) can crash, spin or allocate without bound on
crafted files. A `Sandbox` keeps a decoder server (`certify_media.sandbox_server`)
running beside its owner; the server forks one child per decode, which runs
under CPU-time, address-space and file-size limits and is killed at the
wall-clock limit. The server starts from a scrubbed environment: no
credentials, nothing under `CERTIFY_`, only what a decoder needs. Whatever a
child does, `run` returns its result or raises a `MediaError` whose code
says how it ended:

* `decoder_timeout` -- wall or CPU limit exceeded (the child is killed);
* `decoder_out_of_memory` -- an allocation failed under the memory limit,
  or the kernel killed the child for its memory;
* `decoder_crashed` -- the child died from a signal or said nothing readable;
* `decoder_failed` -- the decoder raised an unexpected exception;
* any `MediaError` code the decoder itself raised (`corrupt_image`, ...).

Only allow-listed targets (`module:function`) run; a target takes the input
bytes and a JSON-able parameter dict and returns `(meta dict, numpy array)`.
"""

import math
import os
import subprocess
import sys
import time
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass
from types import TracebackType
from typing import Any

import numpy as np

from certify_contract.errors import is_error_code
from certify_media.errors import MediaError
from certify_media.framing import read_frame, write_frame

IMAGE_DECODER = "certify_media.images:decode_image_bytes"
VIDEO_DECODER = "certify_media.video:decode_video_bytes"
ALLOWED_TARGETS: frozenset[str] = frozenset({IMAGE_DECODER, VIDEO_DECODER})
# Beyond a decode's own wall-clock limit, which the server enforces: time to fork and answer.
SERVER_GRACE_S = 10.0
# One thread per pool: pools reserve address space that the memory limit counts,
# and the server must stay single-threaded to fork safely.
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
LOCALE_VARIABLES = frozenset({"LANG", "LANGUAGE", "TZ"})


@dataclass(frozen=True)
class SandboxLimits:
    """Limits on every decode: wall-clock and CPU time, address space, reply size."""

    wall_seconds: float = 30.0
    cpu_seconds: int = 30
    memory_bytes: int = 2 * 1024**3
    max_output_bytes: int = 1 << 30

    def __post_init__(self) -> None:
        if self.wall_seconds <= 0 or self.cpu_seconds < 1 or self.memory_bytes < 64 * 1024**2 \
                or self.max_output_bytes < 1:
            raise ValueError(f"Sandbox limits out of range: {self}.")

    @classmethod
    def from_timeout(cls, timeout_s: float, memory_bytes: int) -> "SandboxLimits":
        """One time limit for both clocks: CPU time cannot exceed wall-clock time."""
        return cls(wall_seconds=timeout_s, cpu_seconds=math.ceil(timeout_s),
                   memory_bytes=memory_bytes)


def decoder_environment(parent: Mapping[str, str]) -> dict[str, str]:
    """What a decoder process sees: the locale, one-thread pools and the import path; no secrets."""
    locale = {name: value for name, value in parent.items()
              if name in LOCALE_VARIABLES or name.startswith("LC_")}
    import_path = os.pathsep.join(
        os.path.abspath(path) for path in sys.path if path and os.path.isdir(path))
    return {**locale, **ONE_THREAD, "PATH": os.defpath, "PYTHONPATH": import_path}


class Sandbox:
    """A decoder server, started on first use and replaced after any failure."""

    def __init__(self, limits: SandboxLimits | None = None,
                 allowed: Collection[str] = ALLOWED_TARGETS) -> None:
        self.limits = limits or SandboxLimits()
        self.allowed = frozenset(allowed)
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    @property
    def server_pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> None:
        """Start the server now, so that the first decode does not wait for it."""
        self._running()

    def run(self, target: str, data: bytes, params: dict[str, Any]) -> tuple[dict[str, Any], np.ndarray]:
        """Run `target(data, params)` in a limited child; return its (meta, array)."""
        if target not in self.allowed:
            raise ValueError(f"Decoder target {target!r} is not allow-listed.")
        process = self._running()
        assert process.stdin is not None and process.stdout is not None
        request = {"target": target, "params": params, "limits": asdict(self.limits)}
        try:
            write_frame(process.stdin.fileno(), request, data)
            deadline = time.monotonic() + self.limits.wall_seconds + SERVER_GRACE_S
            header, body = read_frame(process.stdout.fileno(), deadline,
                                      self.limits.max_output_bytes)
        except (OSError, EOFError, TimeoutError, ValueError):
            self.close()  # a server that misbehaved is replaced for the next decode
            raise MediaError("decoder_crashed", "The decoder process failed.") from None
        return _result(header, body)

    def close(self) -> None:
        if self._process is None:
            return
        self._process.kill()
        self._process.wait()
        for stream in (self._process.stdin, self._process.stdout):
            if stream is not None:
                stream.close()
        self._process = None

    def _running(self) -> subprocess.Popen[bytes]:
        if self._process is not None and self._process.poll() is not None:
            self.close()  # it died between decodes: replace it quietly
        if self._process is None:
            self._process = subprocess.Popen(
                # The allowed targets' modules load before the server confines itself
                # (as `nobody` it may not read the Python installation any more).
                [sys.executable, "-P", "-m", "certify_media.sandbox_server", *sorted(self.allowed)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                env=decoder_environment(os.environ), cwd="/")
        return self._process


def _result(header: dict[str, Any], body: bytes) -> tuple[dict[str, Any], np.ndarray]:
    """The child's reply as (meta, array), or its error raised."""
    if header.get("ok") is not True:
        code = header.get("error")
        raise MediaError(code if is_error_code(code) else "decoder_failed",
                         str(header.get("detail", "The decoder failed.")))
    try:
        dtype = np.dtype(str(header["dtype"]))
        if dtype.kind not in "biuf":
            raise ValueError(f"dtype {dtype}")
        array = np.frombuffer(body, dtype=dtype).reshape(header["shape"]).copy()
        meta = dict(header["meta"])
    except (KeyError, TypeError, ValueError) as exc:
        raise MediaError("decoder_crashed", f"The decoder's reply is malformed ({exc}).") from None
    return meta, array
