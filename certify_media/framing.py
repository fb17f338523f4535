"""Length-prefixed frames on pipes: how the sandbox's processes talk.

A frame is a 4-byte big-endian length, a JSON header of that length (which
gives the body's `size`), then the body's bytes.
"""

import json
import os
import select
import struct
import time
from typing import Any

LENGTH = struct.Struct(">I")
MAX_HEADER_BYTES = 1 << 20


class FrameError(ValueError):
    """A frame that breaks the format or its size limit."""


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


def read_frame(
    fd: int, deadline: float | None = None, max_body_bytes: int | None = None
) -> tuple[dict[str, Any], bytes]:
    (header_size,) = LENGTH.unpack(read_exact(fd, LENGTH.size, deadline))
    if header_size > MAX_HEADER_BYTES:
        raise FrameError(f"a frame header of {header_size} bytes")
    header = json.loads(read_exact(fd, header_size, deadline))
    size = header.get("size") if isinstance(header, dict) else None
    if not isinstance(size, int) or size < 0 or (max_body_bytes is not None and size > max_body_bytes):
        raise FrameError(f"a frame header without a valid body size: {size!r}")
    return header, read_exact(fd, size, deadline)


def write_frame(fd: int, header: dict[str, Any], body: bytes = b"") -> None:
    encoded = json.dumps({**header, "size": len(body)}).encode()
    view = memoryview(LENGTH.pack(len(encoded)) + encoded + body)
    while view:
        view = view[os.write(fd, view):]
