"""Run an untrusted-input decoder in a child process under resource limits.

FFmpeg (inside PyAV) can segfault, spin or allocate without bound on crafted
files. The decoder therefore runs in a fresh interpreter (`python -m
certify_media.guard`), started by fork+exec so no CUDA context or model is
shared with it. The child sets its own CPU-time, address-space, file-size and
core-dump limits before importing any decoder; the parent adds a wall-clock
limit. Whatever the child does, the parent gets a result or a `MediaError`
with a stable code:

* `decoder_timeout` -- wall or CPU limit exceeded (the child is killed);
* `decoder_out_of_memory` -- an allocation failed under the memory limit;
* `decoder_crashed` -- the child died from a signal or said nothing readable;
* any `MediaError` code the decoder itself raised.

Only allow-listed targets (`module:function`) run; a target takes the input
bytes and a JSON-able parameter dict and returns `(meta dict, numpy array)`.
"""

import importlib
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from certify_media.errors import MediaError

VIDEO_DECODER = "certify_media.video:decode_video_bytes"
ALLOWED_TARGETS: frozenset[str] = frozenset({VIDEO_DECODER})
_CPU_SIGNALS = (signal.SIGXCPU, signal.SIGKILL)
# Large enough for any tensor a model takes; stops a decoder filling the disk.
_MAX_OUTPUT_BYTES = 1 << 30

DecoderTarget = Callable[[bytes, dict[str, Any]], tuple[dict[str, Any], np.ndarray]]


@dataclass(frozen=True)
class GuardLimits:
    """Per-decode limits of the child process."""

    cpu_seconds: int = 60
    wall_seconds: float = 120.0
    memory_bytes: int = 2 * 1024**3

    def __post_init__(self) -> None:
        if self.cpu_seconds < 1 or self.wall_seconds <= 0 or self.memory_bytes < 64 * 1024**2:
            raise ValueError(f"Guard limits out of range: {self}.")


def _child_env() -> dict[str, str]:
    # A minimal environment: the child needs the parent's import path and
    # nothing else (no credentials, no thread-count surprises).
    paths = [p for p in sys.path if p and os.path.isdir(p)]
    return {
        "PYTHONPATH": os.pathsep.join(paths),
        "PATH": os.defpath,
        "OMP_NUM_THREADS": "1",
        "LC_ALL": "C.UTF-8",
    }


def run_guarded(
    target: str,
    data: bytes,
    params: dict[str, Any],
    limits: GuardLimits | None = None,
    allowed: Collection[str] = ALLOWED_TARGETS,
) -> tuple[dict[str, Any], np.ndarray]:
    """Run `target(data, params)` in a limited child; return its (meta, array)."""
    if target not in allowed:
        raise ValueError(f"Decoder target {target!r} is not allow-listed.")
    limits = limits or GuardLimits()
    with tempfile.TemporaryDirectory(prefix="certify-decode-") as tmp:
        work = Path(tmp)
        (work / "input.bin").write_bytes(data)
        request = {"target": target, "dir": tmp, "params": params, "limits": asdict(limits)}
        completed = _spawn(request, limits, work)
        reply = _parse_reply(completed)
        return reply["meta"], _load_array(work / "output.npy")


Completed = subprocess.CompletedProcess[bytes]


def _spawn(request: dict[str, Any], limits: GuardLimits, work: Path) -> Completed:
    command = [sys.executable, "-P", "-m", "certify_media.guard"]
    try:
        return subprocess.run(
            command, input=json.dumps(request).encode(), capture_output=True,
            timeout=limits.wall_seconds, env=_child_env(), cwd=work, check=False,
        )
    except subprocess.TimeoutExpired:
        detail = f"Decoding took longer than {limits.wall_seconds:g} s and was stopped."
        raise MediaError("decoder_timeout", detail) from None


def _parse_reply(completed: Completed) -> dict[str, Any]:
    code = completed.returncode
    if code < 0:
        if -code in [s.value for s in _CPU_SIGNALS]:
            detail = "Decoding exceeded its CPU-time limit and was stopped."
            raise MediaError("decoder_timeout", detail)
        detail = f"The decoder crashed ({_signal_name(-code)}) on this file."
        raise MediaError("decoder_crashed", detail)
    lines = completed.stdout.decode("utf-8", "replace").strip().splitlines()
    try:
        reply = json.loads(lines[-1])
        ok = bool(reply["ok"])
    except (IndexError, ValueError, KeyError, TypeError):
        detail = f"The decoder exited ({code}) without a result."
        raise MediaError("decoder_crashed", detail) from None
    if not ok:
        raise MediaError(str(reply["code"]), str(reply["detail"]))
    return dict(reply)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _load_array(path: Path) -> np.ndarray:
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise MediaError("decoder_crashed", f"The decoder's output is unreadable: {exc}") from exc
    return np.asarray(array)


def _apply_limits(limits: dict[str, Any]) -> None:
    cpu = int(limits["cpu_seconds"])
    # SIGXCPU at the soft limit; the kernel's SIGKILL one second later.
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    memory = int(limits["memory_bytes"])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (_MAX_OUTPUT_BYTES, _MAX_OUTPUT_BYTES))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _reply(payload: dict[str, Any]) -> None:
    sys.stdout.write("\n" + json.dumps(payload) + "\n")
    sys.stdout.flush()


def child_main() -> int:
    """The child side: limits first, then the decoder, then one JSON line."""
    request = json.loads(sys.stdin.read())
    _apply_limits(request["limits"])
    work = Path(request["dir"])
    try:
        module_name, function_name = str(request["target"]).split(":")
        function: DecoderTarget = getattr(importlib.import_module(module_name), function_name)
        meta, array = function((work / "input.bin").read_bytes(), request["params"])
        np.save(work / "output.npy", np.ascontiguousarray(array), allow_pickle=False)
    except MediaError as exc:
        _reply({"ok": False, "code": exc.code, "detail": exc.detail})
    except MemoryError:
        _reply({"ok": False, "code": "decoder_out_of_memory",
                "detail": "Decoding needed more memory than its limit allows."})
    except Exception as exc:  # a decoder bug must still answer in the one reply format
        _reply({"ok": False, "code": "decoder_failed",
                "detail": f"The decoder failed on this file ({type(exc).__name__})."})
    else:
        _reply({"ok": True, "meta": meta})
    return 0


if __name__ == "__main__":
    sys.exit(child_main())
