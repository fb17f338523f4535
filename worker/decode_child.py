"""Decode one untrusted image upload in a throwaway process with memory and CPU limits.

Run as `python -m worker.decode_child C,H,W MAX_PIXELS MEMORY_BYTES CPU_SECONDS`
with the file's bytes on stdin. Writes one JSON line, then (on success) the
float32 array's raw bytes. A crash or a limit hit here costs this process only.
"""

import json
import resource
import sys
from typing import Any


def _limit(memory_bytes: int, cpu_seconds: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _decode(data: bytes, shape: tuple[int, ...], max_pixels: int) -> Any:
    from certify_media import ImageLimits, MediaError, decode_image

    if len(shape) != 3:
        raise MediaError("model_media_mismatch", f"The model takes input {shape}, not an image.")
    limits = ImageLimits(max_bytes=max(len(data), 1), max_pixels=max_pixels)
    return decode_image(data, (shape[0], shape[1], shape[2]), limits)


def main(argv: list[str]) -> int:
    shape_text, max_pixels, memory_bytes, cpu_seconds = argv
    _limit(int(memory_bytes), int(cpu_seconds))
    data = sys.stdin.buffer.read()
    shape = tuple(int(part) for part in shape_text.split(","))
    out = sys.stdout.buffer
    try:
        decoded = _decode(data, shape, int(max_pixels))
    except MemoryError:
        out.write(json.dumps({"code": "decoder_out_of_memory",
                              "detail": "Decoding the upload exceeded the memory limit."}).encode())
        return 0
    except Exception as exc:  # report what the decoder said; the parent maps it to a job error
        code = getattr(exc, "code", "corrupt_image")
        detail = getattr(exc, "detail", f"The upload cannot be decoded: {exc}")
        out.write(json.dumps({"code": code, "detail": detail}).encode())
        return 0
    header = {"shape": list(decoded.array.shape), "info": decoded.describe()}
    out.write(json.dumps(header).encode() + b"\n")
    out.write(decoded.array.astype("<f4").tobytes())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
