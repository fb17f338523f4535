"""A corpus of hostile media, generated: truncations, bombs, absurd headers, polyglots.

Each entry names the outcomes the service may give it: an HTTP refusal
(`"415 unsupported_media_type"`) or a job's ending (`"failed corrupt_image"`,
or `"succeeded"` for a polyglot whose image part is a valid image). Files are
built here from real encoders (Pillow, PyAV) and then damaged, so nothing
binary is committed; `scripts/make_hostile_media.py` writes them to a folder; `outcome` runs one through a
service.
"""

import io
import struct
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import numpy as np
from PIL import Image

from certify_testkit.processes import poll_job
from certify_testkit.video_media import (
    encode_audio_only,
    encode_video,
    encode_without_frames,
    mkv_claiming_duration,
    raw_avi_claiming,
)

CORRUPT = frozenset({"failed corrupt_image"})
TOO_LARGE = frozenset({"failed image_too_large"})
NOT_MEDIA = frozenset({"415 unsupported_media_type"})
DECODED = frozenset({"succeeded"})
# A stream header and no frames: the demuxer may report it as any of these, all specific.
NO_FRAMES = frozenset({"failed no_frames", "failed no_video_stream", "failed truncated_video"})


@dataclass(frozen=True)
class Hostile:
    name: str
    build: Callable[[], bytes]
    expected: frozenset[str]
    kind: str = "image"


def image_bytes(fmt: str, size: tuple[int, int] = (64, 48), **save: object) -> bytes:
    pixels = np.random.default_rng(7).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, fmt, **save)
    return buffer.getvalue()


def cut(data: bytes, fraction: float) -> bytes:
    return data[:max(1, int(len(data) * fraction))]


def png_chunk(kind: bytes, body: bytes, length: int | None = None) -> bytes:
    size = len(body) if length is None else length
    return struct.pack(">I", size) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png(width: int, height: int, *chunks: bytes, idat: bytes | None = None,
        colour: int = 0) -> bytes:
    """A PNG of declared size `width x height` (grey 8-bit by default) around `chunks`."""
    header = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    body = idat if idat is not None else zlib.compress(b"\0" * 64)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + b"".join(chunks)
            + png_chunk(b"IDAT", body) + png_chunk(b"IEND", b""))


def png_zlib_bomb() -> bytes:
    """6000 x 6000 grey (36 Mpx, under the 40 Mpx limit): 36 MB of zeros in ~35 kB."""
    rows = zlib.compressobj(9)
    row = b"\0" * 6001
    data = b"".join(rows.compress(row) for _ in range(6000)) + rows.flush()
    return png(6000, 6000, idat=data)


def png_text_bomb() -> bytes:
    """A zTXt chunk that inflates to 64 MB (Pillow caps text chunks)."""
    text = b"comment\0\0" + zlib.compress(b"A" * (64 << 20), 9)
    return png(16, 16, png_chunk(b"zTXt", text))


def png_many_chunks() -> bytes:
    """7,000 empty private chunks before the image data."""
    return png(16, 16, *(png_chunk(b"prVt", b"") for _ in range(7_000)))


def png_bad_crc() -> bytes:
    data = bytearray(image_bytes("PNG"))
    data[29:33] = b"\0\0\0\0"  # IHDR's CRC
    return bytes(data)


def jpeg_declaring(width: int, height: int) -> bytes:
    data = bytearray(image_bytes("JPEG"))
    sof = data.find(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def progressive_jpeg_many_scans(scans: int = 4000) -> bytes:
    """A CPU bomb: a progressive JPEG claiming 4000 x 4000 whose last scan repeats thousands of
    times; each scan is a pass over all 16 Mpx of coefficients (seconds of CPU from 44 kB)."""
    buffer = io.BytesIO()
    Image.new("L", (16, 16), 128).save(buffer, "JPEG", progressive=True, quality=90)
    data = bytearray(buffer.getvalue())
    sof = data.find(b"\xff\xc2")
    data[sof + 5:sof + 9] = struct.pack(">HH", 4000, 4000)
    last_sos = data.rfind(b"\xff\xda")
    return bytes(data[:-2] + data[last_sos:-2] * scans + data[-2:])


def gif_declaring(width: int, height: int) -> bytes:
    data = bytearray(image_bytes("GIF"))
    data[6:10] = struct.pack("<HH", width, height)  # logical screen
    descriptor = data.find(b"\x2c")
    data[descriptor + 5:descriptor + 9] = struct.pack("<HH", width, height)
    return bytes(data)


def animated(fmt: str, frames: int) -> bytes:
    images = [Image.new("L", (4, 4), i % 256) for i in range(frames)]
    buffer = io.BytesIO()
    images[0].save(buffer, fmt, save_all=True, append_images=images[1:], duration=10)
    return buffer.getvalue()


def bmp_declaring(width: int, height: int) -> bytes:
    data = bytearray(image_bytes("BMP", (8, 8)))
    data[18:26] = struct.pack("<ii", width, height)
    return bytes(data)


def tiff_declaring(width: int, height: int) -> bytes:
    data = bytearray(image_bytes("TIFF", (8, 8)))
    count = struct.unpack("<H", data[8:10])[0]  # little-endian, first IFD at offset 8
    for entry in range(count):
        at = 10 + 12 * entry
        tag, kind = struct.unpack("<HH", data[at:at + 4])
        if tag in (256, 257):
            value = width if tag == 256 else height
            data[at + 8:at + 12] = struct.pack("<H", value) + b"\0\0" if kind == 3 \
                else struct.pack("<I", value)
    return bytes(data)


def webp_canvas(width: int, height: int) -> bytes:
    """An animated WebP (VP8X) whose canvas claims `width x height`."""
    data = bytearray(animated("WEBP", 20))  # enough distinct frames to be saved animated
    vp8x = data.find(b"VP8X")
    assert vp8x > 0, "Pillow wrote no VP8X header"
    data[vp8x + 12:vp8x + 18] = (width - 1).to_bytes(3, "little") + \
        (height - 1).to_bytes(3, "little")
    return bytes(data)


def sample_video() -> bytes:
    return encode_video("mp4", "libx264", frames=12)


IMAGES: list[Hostile] = [
    Hostile("zero-bytes.png", lambda: b"", frozenset({"422 empty_file"})),
    Hostile("text.png", lambda: b"just some text, posing as an image\n" * 20, NOT_MEDIA),
    Hostile("page.html", lambda: b"<!doctype html><script>alert(1)</script>", NOT_MEDIA),
    Hostile("html-then-png.png", lambda: b"<html>" + image_bytes("PNG"), NOT_MEDIA),
    Hostile("zip.zip", lambda: b"PK\x03\x04" + b"\0" * 200, NOT_MEDIA),
    Hostile("document.pdf", lambda: b"%PDF-1.7\n" + b"0" * 300, NOT_MEDIA),
    Hostile("vector.svg", lambda: b"<svg xmlns='http://www.w3.org/2000/svg'/>", NOT_MEDIA),
    Hostile("too-big.png", lambda: image_bytes("PNG", (200, 200)),
            frozenset({"413 payload_too_large"})),
    Hostile("truncated-header.png", lambda: image_bytes("PNG")[:20], CORRUPT),
    Hostile("truncated-half.png", lambda: cut(image_bytes("PNG"), 0.5), CORRUPT),
    Hostile("truncated-half.jpg", lambda: cut(image_bytes("JPEG"), 0.5), CORRUPT),
    Hostile("truncated-header.jpg", lambda: image_bytes("JPEG")[:40], CORRUPT),
    Hostile("truncated-half.gif", lambda: cut(image_bytes("GIF"), 0.5), CORRUPT),
    Hostile("truncated-half.webp", lambda: cut(image_bytes("WEBP"), 0.5), CORRUPT),
    Hostile("truncated-half.bmp", lambda: cut(image_bytes("BMP"), 0.5), CORRUPT),
    Hostile("truncated-half.tiff", lambda: cut(image_bytes("TIFF"), 0.5), CORRUPT),
    Hostile("bomb-100k-square.png", lambda: png(100_000, 100_000), TOO_LARGE),
    Hostile("bomb-20k-square.png", lambda: png(20_000, 20_000), TOO_LARGE),
    Hostile("bomb-7k-square.png", lambda: png(7_000, 7_000), TOO_LARGE),
    Hostile("bomb-wide.png", lambda: png(2**31 - 1, 1), TOO_LARGE | CORRUPT),
    Hostile("bomb-65k.jpg", lambda: jpeg_declaring(65_000, 65_000), TOO_LARGE),
    Hostile("bomb-65k.gif", lambda: gif_declaring(65_535, 65_535), TOO_LARGE),
    Hostile("bomb-1g.bmp", lambda: bmp_declaring(40_000, 40_000), TOO_LARGE),
    Hostile("bomb-65k.tiff", lambda: tiff_declaring(65_000, 65_000), TOO_LARGE),
    Hostile("bomb-16k-canvas.webp", lambda: webp_canvas(16_384, 16_384), TOO_LARGE | CORRUPT),
    Hostile("zlib-bomb-36mpx.png", png_zlib_bomb, DECODED),
    Hostile("text-chunk-bomb.png", png_text_bomb, CORRUPT),
    Hostile("absurd-chunk-length.png",
            lambda: png(16, 16, png_chunk(b"tEXt", b"k\0v", length=0x7FFFFFF0)), CORRUPT),
    Hostile("seven-thousand-chunks.png", png_many_chunks, DECODED | CORRUPT),
    Hostile("bad-crc.png", png_bad_crc, CORRUPT),
    Hostile("polyglot-png-zip.png", lambda: image_bytes("PNG") + b"PK\x03\x04" + b"\0" * 100,
            DECODED),
    Hostile("polyglot-jpeg-html.jpg",
            lambda: image_bytes("JPEG") + b"<html><script>alert(1)</script></html>", DECODED),
    Hostile("progressive-4000-scans.jpg", progressive_jpeg_many_scans,
            frozenset({"failed decoder_timeout", "succeeded"})),
    Hostile("animated-2000-frames.gif", lambda: animated("GIF", 2000), DECODED),
    Hostile("animated-3000-frames.webp", lambda: animated("WEBP", 3000), DECODED),
]

VIDEOS: list[Hostile] = [
    Hostile("truncated-half.mp4", lambda: cut(sample_video(), 0.5),
            frozenset({"failed truncated_video", "failed corrupt_video"}), "video"),
    Hostile("truncated-header.mp4", lambda: sample_video()[:64],
            frozenset({"failed corrupt_video", "failed truncated_video"}), "video"),
    Hostile("ftyp-only.mp4", lambda: b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2",
            frozenset({"failed corrupt_video", "failed no_video_stream"}), "video"),
    Hostile("truncated-half.mkv", lambda: cut(encode_video("matroska", "libx264"), 0.5),
            frozenset({"failed truncated_video", "failed corrupt_video", "failed no_frames"}),
            "video"),
    Hostile("no-frames.mp4", lambda: encode_without_frames("mp4", "libx264"),
            NO_FRAMES, "video"),
    Hostile("no-frames.mkv", lambda: encode_without_frames("matroska", "libx264"),
            NO_FRAMES, "video"),
    Hostile("audio-only.mp4", encode_audio_only, frozenset({"failed no_video_stream"}), "video"),
    Hostile("hundred-streams.mkv",
            lambda: encode_video("matroska", "libx264", frames=2, size=(16, 16), streams=100),
            frozenset({"failed too_many_streams"}), "video"),
    Hostile("claims-20k-by-10k.avi", lambda: raw_avi_claiming(20_000, 10_000),
            frozenset({"failed video_too_large"}), "video"),
    Hostile("claims-100k-square.avi", lambda: raw_avi_claiming(100_000, 100_000),
            frozenset({"failed video_too_large", "failed corrupt_video"}), "video"),
    Hostile("claims-ten-days.mkv", lambda: mkv_claiming_duration(10 * 86_400.0),
            frozenset({"failed video_too_long"}), "video"),
    Hostile("3500-frames.mkv",
            lambda: encode_video("matroska", "libx264", frames=3500, rate=100, size=(16, 16)),
            frozenset({"failed too_many_frames"}), "video"),
]

CORPUS: list[Hostile] = IMAGES + VIDEOS


FIELDS = {"n": "10", "n0": "5"}


def outcome(client: httpx.Client, item: Hostile) -> tuple[str, float]:
    """How a running service ends `item` (`"415 unsupported_media_type"`, `"failed corrupt_image"`,
    `"succeeded"`), and the seconds it took."""
    started = time.monotonic()
    answer = client.post("/certify", files={"file": (item.name, item.build())}, data=FIELDS)
    if answer.status_code != 202:
        return f"{answer.status_code} {answer.json()['error']}", time.monotonic() - started
    view = poll_job(client, answer.json()["job_id"], timeout=120)
    ended = time.monotonic() - started
    if view["status"] == "succeeded":
        return "succeeded", ended
    return f"{view['status']} {view['error']['error']}", ended
