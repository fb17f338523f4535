"""Bounded image decoding with Pillow, converted to a model's (C, H, W) in [0, 1]."""

import io
import re
import warnings
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from certify_contract.results import UNIT_RANGE, ImageInput
from certify_media.errors import MediaError
from certify_media.sniff import SNIFF_BYTES, sniff_media_type

PILLOW_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP")
RESIZE_METHOD = "pillow-bilinear"
# Pillow's bomb message: "Image size (N pixels) exceeds limit of M pixels, ...".
PILLOW_PIXELS = re.compile(r"Image size \((\d+) pixels\)")


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int = 20 * 1024 * 1024
    max_pixels: int = 40_000_000


@dataclass(frozen=True)
class DecodedImage:
    """`array` is float32 (C, H, W) in [0, 1] at the requested shape."""

    array: np.ndarray
    original_size: tuple[int, int]
    original_mode: str
    format: str

    def describe(self) -> ImageInput:
        """The certified tensor and how the upload became it (goes into every result)."""
        return ImageInput(
            shape=list(self.array.shape),
            value_range=list(UNIT_RANGE),
            source_format=self.format,
            source_size=list(self.original_size),
            source_mode=self.original_mode,
            resize_method=RESIZE_METHOD,
        )


def _open(data: bytes, limits: ImageLimits) -> Image.Image:
    if len(data) == 0:
        raise MediaError("empty_file", "The file is empty.")
    if len(data) > limits.max_bytes:
        raise MediaError(
            "file_too_large", f"The image has {len(data)} bytes; the limit is {limits.max_bytes}."
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=list(PILLOW_FORMATS))
            width, height = image.size
            if width * height > limits.max_pixels:
                raise MediaError(
                    "image_too_large",
                    f"The image has {width}x{height} pixels; the limit is {limits.max_pixels}.",
                )
            image.load()
    except MediaError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow refuses above its own limits before ours is checked; quote the service's.
        declared = PILLOW_PIXELS.search(str(exc))
        size = f"{declared.group(1)} pixels" if declared else "too many pixels"
        raise MediaError("image_too_large", f"The image declares {size}; the limit is "
                         f"{limits.max_pixels} (a decompression bomb).") from exc
    except UnidentifiedImageError as exc:
        if (sniff_media_type(data[:SNIFF_BYTES]) or "").startswith("image/"):
            # Its signature is a supported format, so the header itself is broken (a bad CRC).
            raise MediaError("corrupt_image", "The image cannot be decoded: its header is "
                             "malformed.") from exc
        raise MediaError(
            "unsupported_media_type",
            f"Not an image in a supported format ({', '.join(PILLOW_FORMATS)}).",
        ) from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise MediaError("corrupt_image", f"The image cannot be decoded: {exc}") from exc
    return image


def decode_image(data: bytes, shape: tuple[int, int, int], limits: ImageLimits | None = None) -> DecodedImage:
    """Decode `data` to float32 (C, H, W) in [0, 1]; C is 1 (grey) or 3 (RGB)."""
    channels, height, width = shape
    if channels not in (1, 3):
        raise MediaError("unsupported_model_input", f"Images decode to 1 or 3 channels, not {channels}.")
    image = _open(data, limits or ImageLimits())
    if getattr(image, "n_frames", 1) > 1:
        image.seek(0)
    source = (image.format or "unknown", image.size, image.mode)
    converted = image.convert("L" if channels == 1 else "RGB")
    if converted.size != (width, height):
        converted = converted.resize((width, height), Image.Resampling.BILINEAR)
    array = np.asarray(converted, dtype=np.float32) / 255.0
    array = array[None] if channels == 1 else array.transpose(2, 0, 1)
    return DecodedImage(np.ascontiguousarray(array), (source[1][0], source[1][1]), source[2], source[0])


def decode_image_bytes(data: bytes, params: dict[str, Any]) -> tuple[dict[str, Any], np.ndarray]:
    """Sandbox target: `decode_image` with JSON parameters; returns (described input, array)."""
    channels, height, width = (int(v) for v in params["shape"])
    decoded = decode_image(data, (channels, height, width), ImageLimits(**params["limits"]))
    return asdict(decoded.describe()), decoded.array
