"""Images to the model's (C, H, W) uint8 pixels: the same steps as the service's decoder.

Convert to grey or RGB, then (when the manifest says so) resize the shorter
side and crop the centre, then resize bilinearly to the input size if it
still differs. The result is uint8, so a lossless PNG of it decodes on the
service to exactly the tensor a local run certifies.
"""

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from certify_datasets.errors import DatasetError
from certify_datasets.model_spec import ModelSpec

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
PILLOW_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP")
MAX_PIXELS = 40_000_000  # the service's default CERTIFY_MAX_IMAGE_PIXELS


def read_image(path: Path) -> Image.Image:
    """Open and decode `path` with the service's formats and pixel limit."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(path.read_bytes()), formats=list(PILLOW_FORMATS))
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise DatasetError(str(path), f"the model cannot take this image: {width}x{height} "
                                   f"pixels, over the limit of {MAX_PIXELS}.", bad_item=True)
            image.load()
    except DatasetError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise DatasetError(str(path), f"the model cannot take this image: {exc}",
                           bad_item=True) from exc
    except UnidentifiedImageError:
        raise DatasetError(str(path), "unreadable: not an image in a supported format "
                           f"({', '.join(PILLOW_FORMATS)}).", bad_item=True) from None
    except FileNotFoundError:
        raise DatasetError(str(path), "unreadable: no such file.", bad_item=True) from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise DatasetError(str(path), f"unreadable: {exc}", bad_item=True) from exc
    if getattr(image, "n_frames", 1) > 1:
        image.seek(0)
    return image


def prepare(image: Image.Image, model: ModelSpec, source: str) -> np.ndarray:
    """uint8 (C, H, W) at the model's input size."""
    channels, height, width = model.input_shape
    steps = model.preprocessing
    image = image.convert("L" if channels == 1 else "RGB")
    if steps.resize is not None:
        scale = steps.resize / min(image.size)
        size = (max(1, round(image.size[0] * scale)), max(1, round(image.size[1] * scale)))
        image = image.resize(size, Image.Resampling.BILINEAR)
    if steps.center_crop is not None:
        crop_h, crop_w = steps.center_crop
        if crop_w > image.size[0] or crop_h > image.size[1]:
            raise DatasetError(source, f"the model cannot take this image: {image.size[0]}x"
                               f"{image.size[1]} is smaller than the centre crop "
                               f"{crop_w}x{crop_h}.", bad_item=True)
        left, top = (image.size[0] - crop_w) // 2, (image.size[1] - crop_h) // 2
        image = image.crop((left, top, left + crop_w, top + crop_h))
    if image.size != (width, height):
        image = image.resize((width, height), Image.Resampling.BILINEAR)
    pixels = np.asarray(image, dtype=np.uint8)
    return pixels[None] if channels == 1 else np.ascontiguousarray(pixels.transpose(2, 0, 1))


def from_array(pixels: np.ndarray) -> Image.Image:
    """A uint8 (C, H, W) array (C = 1 or 3), as stored by CIFAR and idx files, as an image."""
    if pixels.shape[0] == 1:
        return Image.fromarray(np.ascontiguousarray(pixels[0]))
    return Image.fromarray(np.ascontiguousarray(pixels.transpose(1, 2, 0)))


def png_bytes(pixels: np.ndarray) -> bytes:
    """A uint8 (C, H, W) image as PNG: lossless, so the service decodes the same pixels."""
    out = io.BytesIO()
    from_array(pixels).save(out, format="PNG")
    return out.getvalue()
