"""Shared steps of commands that run models: device, model, decoded input."""

from typing import Any

import torch

from certify_core.models import LoadedModel, load_model
from certify_core.models.loading import DEFAULT_IMAGE_MODEL
from certify_media import ImageLimits, decode_image
from certify_settings import Settings, load_settings


def choose_device(requested: str | None, settings: Settings | None = None) -> torch.device:
    settings = settings or load_settings()
    name = requested or settings.device or ("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def open_model(
    ref: str | None, device: torch.device, input_shape: tuple[int, ...] | None = None,
    settings: Settings | None = None,
) -> LoadedModel:
    settings = settings or load_settings()
    return load_model(ref or DEFAULT_IMAGE_MODEL, device, settings.model_dirs, input_shape)


def decode_for_model(
    data: bytes, model: LoadedModel, settings: Settings | None = None
) -> tuple[torch.Tensor, dict[str, Any]]:
    """Decode an upload to the model's input tensor, and how it was made."""
    settings = settings or load_settings()
    shape = model.input_shape
    if len(shape) != 3:
        from certify_cli.errors import CommandError

        raise CommandError(f"Model {model.name!r} takes video input {shape}; give a video file.")
    limits = ImageLimits(settings.max_image_bytes, settings.max_image_pixels)
    decoded = decode_image(data, (shape[0], shape[1], shape[2]), limits)
    return torch.from_numpy(decoded.array), decoded.describe()
