"""Shared steps of commands that run models: device, model, decoded input."""

from typing import Any

import torch

from certify_core.certifier import certified_input_shape
from certify_core.models import LoadedModel, load_model
from certify_core.models.loading import DEFAULT_IMAGE_MODEL
from certify_core.options import CertifyOptions
from certify_core.video import DEFAULT_VIDEO_MODEL
from certify_media import ImageLimits, VideoLimits, decode_image, decode_video, sniff_media_type
from certify_media.sniff import SNIFF_BYTES, media_kind
from certify_media.video import FramePolicy
from certify_settings import Settings, load_settings


def choose_device(requested: str | None, settings: Settings | None = None) -> torch.device:
    settings = settings or load_settings()
    name = requested or settings.device or ("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def open_model(
    ref: str | None, device: torch.device, input_shape: tuple[int, ...] | None = None,
    settings: Settings | None = None, kind: str = "image",
) -> LoadedModel:
    """Load `ref`, or the default model for media of `kind` when no model is named."""
    settings = settings or load_settings()
    default = DEFAULT_VIDEO_MODEL if kind == "video" else DEFAULT_IMAGE_MODEL
    return load_model(ref or default, device, settings.model_dirs, input_shape)


def upload_kind(data: bytes) -> str | None:
    """'image' or 'video' from the leading bytes; None when they are neither."""
    return media_kind(sniff_media_type(data[:SNIFF_BYTES]))


def decode_for_model(
    data: bytes, model: LoadedModel, settings: Settings | None = None,
    options: CertifyOptions | None = None, frame_policy: FramePolicy = "uniform",
    fps: float | None = None,
) -> tuple[torch.Tensor, dict[str, Any]]:
    """Decode an upload to the certified input tensor, and how it was made.

    Videos become the whole frame tensor (C, T, H, W) that `options` certify
    (T = `options.frames`, default twice the model's clip length).
    """
    from certify_cli.errors import CommandError

    settings = settings or load_settings()
    kind, model_kind = upload_kind(data), model.manifest.kind
    if kind is not None and kind != model_kind:  # unknown bytes: the decoder says why
        article = "an" if kind == "image" else "a"
        raise CommandError(f"Model {model.name!r} takes {model_kind} input; this file is {article} {kind}.")
    if model_kind == "video":
        shape = certified_input_shape(model, options or CertifyOptions())
        video = decode_video(data, (shape[0], shape[1], shape[2], shape[3]), VideoLimits(),
                             frame_policy, fps)
        return torch.from_numpy(video.array), video.describe()
    shape = model.input_shape
    limits = ImageLimits(settings.max_image_bytes, settings.max_image_pixels)
    decoded = decode_image(data, (shape[0], shape[1], shape[2]), limits)
    return torch.from_numpy(decoded.array), decoded.describe()


def open_evaluation(
    dataset: str, ref: str | None, device: torch.device, options: CertifyOptions, count: int
) -> tuple[LoadedModel, Any]:
    """Model and test data for `certify evaluate`; video data sets default to the video model.

    Moving-Fashion-MNIST test videos are rendered with as many frames as the
    certified tensor has, for the first `count` test items only.
    """
    from certify_core.datasets import load_dataset

    if dataset != "moving-fashion-mnist":
        return open_model(ref, device), load_dataset(dataset, "test")
    from certify_core.moving_fmnist import load_moving_fashion_mnist

    model = open_model(ref, device, kind="video")
    frames = certified_input_shape(model, options)[1]
    return model, load_moving_fashion_mnist("test", count=count, frames=frames)
