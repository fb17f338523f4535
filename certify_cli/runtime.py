"""Shared steps of commands that run models: device, model, decoded input."""

import dataclasses
import time
from typing import Any

import torch

from certify_cli.errors import CommandError
from certify_contract.options import ADAPTIVE, OPTION_SPECS, CertifyOptions
from certify_contract.results import DescribedInput
from certify_core.certifier import certified_input_shape, certify
from certify_core.models import LoadedModel, load_model
from certify_media import DecodeRequest, MediaLimits, Sandbox, decode_upload, sniff_media_type
from certify_media.sniff import SNIFF_BYTES, media_kind
from certify_media.video import FramePolicy
from certify_settings import Settings


def choose_device(requested: str | None, settings: Settings) -> torch.device:
    name = requested or settings.device or ("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def open_model(
    ref: str | None, device: torch.device, settings: Settings, kind: str = "image",
    input_shape: tuple[int, ...] | None = None,
) -> LoadedModel:
    """Load `ref`, or the configured default model for media of `kind` (as the service does)."""
    default = settings.default_video_model if kind == "video" else settings.default_image_model
    if ref is None and default is None:
        raise CommandError(f"No default {kind} model is configured; name one with --model.")
    return load_model(ref or str(default), device, settings.model_dirs, input_shape)


def upload_kind(data: bytes) -> str | None:
    """'image' or 'video' from the leading bytes; None when they are neither."""
    return media_kind(sniff_media_type(data[:SNIFF_BYTES]))


def decode_for_model(
    data: bytes, model: LoadedModel, options: CertifyOptions, limits: MediaLimits,
    sandbox: Sandbox | None, frame_policy: FramePolicy = "uniform", fps: float | None = None,
) -> tuple[torch.Tensor, DescribedInput]:
    """Decode a file to the certified input tensor (in `sandbox`; None: in this process).

    Videos become the whole frame tensor (C, T, H, W) that `options` certify
    (T = `options.frames`, default twice the model's clip length).
    """
    kind, model_kind = upload_kind(data), model.manifest.kind
    if kind is not None and kind != model_kind:  # unknown bytes: the decoder says why
        article = "an" if kind == "image" else "a"
        raise CommandError(f"Model {model.name!r} takes {model_kind} input; this file is {article} {kind}.")
    request = DecodeRequest(model_kind, certified_input_shape(model, options), frame_policy, fps)
    decoded = decode_upload(data, request, limits, sandbox)
    return torch.from_numpy(decoded.array), decoded.described


# Runs with at least this many noisy samples are announced with a time estimate.
LONG_RUN_SAMPLES = 10_000
CALIBRATION_SAMPLES = (40, 240)
# The probes time samples, not a stopping rule: fixed n (a decision radius a probe's few
# samples cannot reach would be refused).
FIXED_SAMPLING: dict[str, Any] = {
    "sampling": "fixed", "radius": None,
    **{spec.name: None for spec in OPTION_SPECS if spec.meta.when == ADAPTIVE},
}


def estimate_seconds(model: LoadedModel, x: torch.Tensor, options: CertifyOptions) -> tuple[float, float]:
    """(seconds, samples per second) that certifying `x` with `options` should take.

    Two short runs of different sizes on `x` itself: their difference is the
    cost per sample, free of the fixed costs (the lift norm, cached after the
    first run; the first batch's warm-up) that a single run would count.
    """
    timings = []
    for samples in CALIBRATION_SAMPLES:
        probe = dataclasses.replace(options, n0=1, n=samples - 1, **FIXED_SAMPLING)
        start = time.perf_counter()
        certify(model, x, probe, seed=0)
        timings.append(time.perf_counter() - start)
    per_sample = max((timings[1] - timings[0]) / (CALIBRATION_SAMPLES[1] - CALIBRATION_SAMPLES[0]),
                     timings[1] / CALIBRATION_SAMPLES[1] / 4, 1e-9)  # noise can make the gap tiny
    return per_sample * (options.n0 + options.n), 1.0 / per_sample
