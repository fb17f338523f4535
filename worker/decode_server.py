"""A clean decoder process that forks one limited child per uploaded image.

Started by the worker as `python -m worker.decode_server`: a fresh
interpreter (no torch, no CUDA, no models) with Pillow and numpy preloaded,
so each decode costs a fork instead of an interpreter start. The fork is safe
here because this process is single-threaded. Each child sets address-space,
CPU and core-dump limits before it touches the upload; this process enforces
the wall-clock limit and reports how the child ended. Requests and replies
are frames on stdin/stdout: a 4-byte length, a JSON header with the body
`size`, then the body.
"""

import json
import os
import resource
import select
import signal
import struct
import sys
import time
from typing import Any

LENGTH = struct.Struct(">I")


def read_exact(fd: int, size: int, deadline: float | None = None) -> bytes:
    chunks, missing = [], size
    while missing:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError("no reply in time")
        chunk = os.read(fd, min(missing, 1 << 20))
        if not chunk:
            raise EOFError("stream closed")
        chunks.append(chunk)
        missing -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int, deadline: float | None = None) -> tuple[dict[str, Any], bytes]:
    (header_size,) = LENGTH.unpack(read_exact(fd, LENGTH.size, deadline))
    header: dict[str, Any] = json.loads(read_exact(fd, header_size, deadline))
    return header, read_exact(fd, int(header["size"]), deadline)


def write_frame(fd: int, header: dict[str, Any], body: bytes = b"") -> None:
    encoded = json.dumps({**header, "size": len(body)}).encode()
    view = memoryview(LENGTH.pack(len(encoded)) + encoded + body)
    while view:
        view = view[os.write(fd, view):]


def _decode_in_child(fd: int, request: dict[str, Any], data: bytes) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (request["memory_bytes"],) * 2)
    resource.setrlimit(resource.RLIMIT_CPU, (request["cpu_seconds"], request["cpu_seconds"] + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    from certify_media import ImageLimits, decode_image

    try:
        channels, height, width = request["shape"]
        limits = ImageLimits(max_bytes=max(len(data), 1), max_pixels=request["max_pixels"])
        decoded = decode_image(data, (channels, height, width), limits)
        body = decoded.array.astype("<f4").tobytes()
        write_frame(fd, {"shape": list(decoded.array.shape), "info": decoded.describe()}, body)
    except MemoryError:
        write_frame(fd, {"code": "decoder_out_of_memory",
                         "detail": "Decoding the upload exceeded the memory limit."})
    except Exception as exc:  # the decoder's own verdict; the worker maps it to a job error
        write_frame(fd, {"code": getattr(exc, "code", "corrupt_image"),
                         "detail": getattr(exc, "detail", f"The image cannot be decoded: {exc}")})


def _ended(status: int, timed_out: bool, timeout_s: float) -> dict[str, Any]:
    if timed_out:
        return {"code": "decoder_timeout",
                "detail": f"Decoding the upload took longer than {timeout_s:g} s."}
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) in (signal.SIGXCPU, signal.SIGKILL):
        return {"code": "decoder_timeout", "detail": "Decoding the upload hit the CPU limit."}
    return {"code": "decoder_crashed", "detail": "The decoder process died on this upload "
            f"(wait status {status}); the file is probably malformed."}


def serve_one(request: dict[str, Any], data: bytes) -> tuple[dict[str, Any], bytes]:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: decode, answer, and leave without running any cleanup
        os.close(read_end)
        try:
            _decode_in_child(write_end, request, data)
        finally:
            os._exit(0)
    os.close(write_end)
    deadline = time.monotonic() + float(request["timeout_s"])
    try:
        reply = read_frame(read_end, deadline)
        timed_out = False
    except (TimeoutError, EOFError, ValueError) as exc:
        reply, timed_out = None, isinstance(exc, TimeoutError)
        os.kill(pid, signal.SIGKILL)
    finally:
        os.close(read_end)
    _, status = os.waitpid(pid, 0)
    return reply if reply is not None else (_ended(status, timed_out, request["timeout_s"]), b"")


def main() -> int:
    import certify_media.images  # noqa: F401  (preloaded once; every fork starts with it)

    stdin, stdout = sys.stdin.fileno(), sys.stdout.fileno()
    while True:
        try:
            request, data = read_frame(stdin)
        except EOFError:  # the worker closed the pipe: it is shutting down
            return 0
        header, body = serve_one(request, data)
        write_frame(stdout, header, body)


if __name__ == "__main__":
    sys.exit(main())
