"""Bounded Pillow decoding and content sniffing."""

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from certify_media import ImageLimits, MediaError, decode_image, sniff_media_type


def encode(array: np.ndarray, fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, fmt)
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP"])
def test_formats_decode_to_the_model_geometry(fmt: str) -> None:
    rgb = np.random.default_rng(0).integers(0, 255, (37, 50, 3), dtype=np.uint8)
    data = encode(rgb, fmt)
    assert sniff_media_type(data[:16]) == f"image/{fmt.lower()}"
    grey = decode_image(data, (1, 28, 28))
    assert grey.array.shape == (1, 28, 28) and grey.array.dtype == np.float32
    assert grey.array.min() >= 0.0 and grey.array.max() <= 1.0
    colour = decode_image(data, (3, 32, 32))
    assert colour.array.shape == (3, 32, 32)
    assert colour.describe()["source_size"] == [50, 37]


def test_exact_size_grey_image_is_not_resampled() -> None:
    pixels = np.arange(28 * 28, dtype=np.uint8).reshape(28, 28)
    decoded = decode_image(encode(pixels, "PNG"), (1, 28, 28))
    np.testing.assert_array_equal(decoded.array[0], pixels / np.float32(255))


def test_decompression_bomb_is_refused_before_decoding() -> None:
    data = encode(np.zeros((3000, 3000), np.uint8), "PNG")  # small file, 9 Mpx
    with pytest.raises(MediaError) as info:
        decode_image(data, (1, 28, 28), ImageLimits(max_pixels=1_000_000))
    assert info.value.code == "image_too_large"


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares `width` x `height` grey pixels."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + \
            struct.pack(">I", zlib.crc32(kind + body))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + \
        chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("side", [10_000, 20_000])  # over Pillow's warning and error limits
def test_a_bomb_pillow_refuses_first_quotes_the_services_limit(side: int) -> None:
    with pytest.raises(MediaError) as info:
        decode_image(png_declaring(side, side), (1, 28, 28), ImageLimits(max_pixels=1_000_000))
    assert info.value.code == "image_too_large"
    assert info.value.detail == (f"The image declares {side * side} pixels; the limit is "
                                 "1000000 (a decompression bomb).")


def test_byte_limit() -> None:
    with pytest.raises(MediaError) as info:
        decode_image(b"\x89PNG" + b"\0" * 100, (1, 28, 28), ImageLimits(max_bytes=50))
    assert info.value.code == "file_too_large"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty_file"),
        (b"just some text posing as an image", "unsupported_media_type"),
        (b"%PDF-1.4 not an allowed format", "unsupported_media_type"),
    ],
)
def test_bad_bytes(data: bytes, code: str) -> None:
    with pytest.raises(MediaError) as info:
        decode_image(data, (1, 28, 28))
    assert info.value.code == code


def test_truncated_png_is_corrupt() -> None:
    data = encode(np.random.default_rng(1).integers(0, 255, (64, 64), dtype=np.uint8), "PNG")
    with pytest.raises(MediaError) as info:
        decode_image(data[: len(data) // 2], (1, 28, 28))
    assert info.value.code == "corrupt_image"


def test_sniffing_ignores_names_and_headers() -> None:
    assert sniff_media_type(b"hello world, not media") is None
    assert sniff_media_type(b"\x00\x00\x00\x18ftypmp42") == "video/mp4"
    assert sniff_media_type(b"\x1a\x45\xdf\xa3rest") == "video/x-matroska"
