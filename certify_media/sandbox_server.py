"""The sandbox's server: a clean process that forks one limited child per decode.

Started by `certify_media.sandbox.Sandbox` as `python -P -m
certify_media.sandbox_server` with a scrubbed environment: a fresh
interpreter with no torch, no CUDA, no models and no credentials, which
preloads Pillow, PyAV and numpy once so that each decode costs a fork instead
of an interpreter start.

Forking is safe here because this process stays single-threaded: it never
decodes itself, thread pools are capped at one thread by the environment,
and importing the decoders starts no thread (a test reads this process's
thread count from /proc). A forked child therefore inherits no lock that
another thread held. The child sets its address-space, CPU-time, file-size
and core-dump limits before it reads the upload; this process enforces the
wall-clock limit, and `ending` turns how a child ended into one error code.
"""

import importlib
import os
import resource
import signal
import sys
import time
from typing import Any

import numpy as np

from certify_media.confinement import confine_decoder_server
from certify_media.errors import MediaError
from certify_media.framing import read_frame, write_frame

# Large enough for any tensor a model takes; stops a decoder filling the disk.
MAX_FILE_BYTES = 1 << 30


def _failure(code: str, detail: str) -> dict[str, Any]:
    return {"ok": False, "error": code, "detail": detail}


def ending(status: int, cpu_used_s: float, stopped_for: str | None,
           limits: dict[str, Any]) -> dict[str, Any]:
    """The error for a child that gave no reply, from how it ended.

    `stopped_for` is why this process killed it ("time" or "reply"), if it did.
    """
    if stopped_for == "time":
        return _failure("decoder_timeout", f"Decoding took longer than "
                        f"{limits['wall_seconds']:g} s and was stopped.")
    if stopped_for == "reply":
        return _failure("decoder_failed", "The decoder's reply was malformed or larger than "
                        f"{limits['max_output_bytes']} bytes.")
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        # SIGXCPU at the soft CPU limit; the kernel's SIGKILL at the hard one.
        if number == signal.SIGXCPU or (number == signal.SIGKILL
                                        and cpu_used_s >= limits["cpu_seconds"]):
            return _failure("decoder_timeout", "Decoding exceeded its CPU-time limit and was "
                            "stopped.")
        if number == signal.SIGKILL:  # not ours, not the CPU limit: the kernel's OOM killer
            return _failure("decoder_out_of_memory", "The decoder was killed for using too "
                            "much memory.")
        return _failure("decoder_crashed", f"The decoder crashed ({signal.Signals(number).name}) "
                        "on this file.")
    return _failure("decoder_crashed", f"The decoder exited ({os.WEXITSTATUS(status)}) "
                    "without a result.")


def _apply_limits(limits: dict[str, Any]) -> None:
    cpu = int(limits["cpu_seconds"])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    memory = int(limits["memory_bytes"])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_FILE_BYTES, MAX_FILE_BYTES))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _decode_in_child(fd: int, request: dict[str, Any], data: bytes) -> None:
    """The child: limits first, then the allow-listed target, then one reply frame."""
    _apply_limits(request["limits"])
    try:
        module_name, function_name = str(request["target"]).split(":")
        target = getattr(importlib.import_module(module_name), function_name)
        meta, array = target(data, request["params"])
        array = np.ascontiguousarray(array)
        header = {"ok": True, "meta": meta, "dtype": array.dtype.str, "shape": list(array.shape)}
        write_frame(fd, header, array.tobytes())
    except MediaError as exc:
        write_frame(fd, _failure(exc.code, exc.detail))
    except MemoryError:
        write_frame(fd, _failure("decoder_out_of_memory",
                                 "Decoding needed more memory than its limit allows."))
    except Exception as exc:  # a decoder bug still answers in the one reply format
        write_frame(fd, _failure("decoder_failed",
                                 f"The decoder failed on this file ({type(exc).__name__})."))


def serve_one(request: dict[str, Any], data: bytes) -> tuple[dict[str, Any], bytes]:
    """Decode one upload in a forked child; return its reply or the error its ending means."""
    limits = request["limits"]
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: decode, answer, and leave without running any cleanup
        os.close(read_end)
        try:
            _decode_in_child(write_end, request, data)
        finally:
            os._exit(0)
    os.close(write_end)
    reply, stopped_for = None, None
    try:
        reply = read_frame(read_end, time.monotonic() + float(limits["wall_seconds"]),
                           int(limits["max_output_bytes"]))
    except TimeoutError:
        stopped_for = "time"
    except ValueError:
        stopped_for = "reply"
    except EOFError:
        pass  # the child ended without a reply: its wait status says how
    finally:
        os.close(read_end)
    # Whatever it did, the child has nothing left to do. (A child that already
    # ended keeps the status it ended with.)
    os.kill(pid, signal.SIGKILL)
    _, status, usage = os.wait4(pid, 0)
    if reply is not None:
        return reply
    return ending(status, usage.ru_utime + usage.ru_stime, stopped_for, limits), b""


def _preload(targets: list[str]) -> None:
    """Import the decoders (and the allowed targets' modules) once: every forked child starts
    with them loaded, and none needs to read a module file after the server is confined."""
    import av  # noqa: F401
    import PIL.Image

    import certify_media.images
    import certify_media.video  # noqa: F401

    PIL.Image.init()  # every format plugin, while the files are still readable to us
    for target in targets:
        importlib.import_module(target.split(":")[0])


def main() -> int:
    # Ctrl-C in a terminal signals the whole process group; this server stops when its
    # parent closes the pipe (or kills it), never with a KeyboardInterrupt traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _preload(sys.argv[1:])
    # Before the first fork, so every decoder child inherits it (certify_media.confinement).
    confined = confine_decoder_server()
    if not all(confined.values()):
        print(f"certify_media.sandbox_server: confinement partial: {confined}", file=sys.stderr)
    stdin, stdout = sys.stdin.fileno(), sys.stdout.fileno()
    while True:
        try:
            request, data = read_frame(stdin)
        except EOFError:  # the parent closed the pipe: it is shutting down
            return 0
        header, body = serve_one(request, data)
        write_frame(stdout, header, body)


if __name__ == "__main__":
    sys.exit(main())
