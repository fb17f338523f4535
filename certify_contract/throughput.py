"""How long a job will take: the model passes its options imply, over the passes per second
the workers measured.

The unit is one **pass**: one noisy input through the base model's forward
(one row of a forward batch). Plain smoothing spends one pass per noisy
sample; Smooth-Reduce spends one per patch (or clip) of each sample, so a
sample costs `k` passes. A certificate's `model_evaluations` counts the same
unit, and the workers publish their rate in it, per model and per arithmetic
(precision and compile mode), since a bf16 or compiled model runs at its own
speed. The formula lives here once; the API's `GET /estimate` applies it and
the dashboard shows its answer.
"""

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from certify_contract.geometry_check import (
    FRAMES_PER_CLIP,
    GRID_STRIDE,
    RESIZE_MARGIN,
    default_clip_stride,
)
from certify_contract.option_spec import MediaKind
from certify_contract.options import CertifyOptions
from certify_contract.records import RECORD_CONFIG


@dataclass(frozen=True)
class Throughput:
    """Passes per second measured for one model at one arithmetic, over its live workers."""

    __pydantic_config__: ClassVar[dict[str, object]] = RECORD_CONFIG

    precision: str
    """fp32, bf16 or fp16."""
    compile: str
    """off, or the torch.compile mode."""
    passes_per_s: float
    """The median over the workers that measured it of each worker's rate: model passes (one
    noisy input, or one patch of one, through the base model) per second of sampling; each
    worker's rate starts from its warm-up and follows the jobs it runs."""
    workers: int
    """Live workers that published a rate for this arithmetic."""
    jobs: int
    """Jobs behind the rates, summed over those workers (0: warm-up only)."""


@dataclass(frozen=True)
class JobEstimate:
    """How long a job with these options would sample, before it is submitted."""

    __pydantic_config__: ClassVar[dict[str, object]] = RECORD_CONFIG

    model: str
    """The model the job would go to."""
    precision: str
    """The arithmetic it would run in (the options', else the manifest's, else fp32)."""
    compile: str
    """off, or the torch.compile mode it would run in."""
    passes_per_sample: int
    """Model passes per noisy sample: 1, or Smooth-Reduce's patches (clips)."""
    passes_min: int
    """Fewest passes: (n0 + n) x passes_per_sample when fixed; adaptive sampling may stop at
    its first look, so (n0 + first look) x passes_per_sample."""
    passes_max: int
    """Most passes: (n0 + n) x passes_per_sample (adaptive: n is the maximum)."""
    passes_per_s: float | None
    """The measured rate it divides by (`Throughput.passes_per_s`); null: no live worker has
    published a rate for this model and arithmetic yet."""
    seconds_min: float | None
    """passes_min / passes_per_s: sampling time alone (no decode, no queue wait)."""
    seconds_max: float | None
    """passes_max / passes_per_s."""
    queued_jobs: int
    """Jobs waiting on the queue ahead of it, of any model and size (a count, not a time)."""


def requested_arithmetic(options: CertifyOptions, manifest: dict[str, Any]) -> tuple[str, str]:
    """(precision, compile): the options', else the manifest's, else fp32 and eager."""
    precision = options.precision or manifest.get("precision") or "fp32"
    compile_mode = options.compile or manifest.get("compile") or "off"
    return str(precision), str(compile_mode)


def passes_per_sample(options: CertifyOptions, kind: MediaKind, input_shape: Sequence[int]) -> int:
    """Patches (image) or clips (video) per noisy sample; 1 for plain smoothing.

    Follows the certifier's geometry with its defaults (a test compares the two).
    """
    if options.method == "cohen":
        return 1
    if options.patches is not None:
        return options.patches
    if kind == "video":
        clip = input_shape[1]
        frames = options.frames if options.frames is not None else FRAMES_PER_CLIP * clip
        length = options.patch_size if options.patch_size is not None else clip
        return _positions(frames, length, options.stride or default_clip_stride(length))
    height, width = input_shape[1], input_shape[2]
    canvas = (options.resize, options.resize) if options.resize is not None \
        else (height + RESIZE_MARGIN, width + RESIZE_MARGIN)
    patch = (options.patch_size, options.patch_size) if options.patch_size is not None \
        else (min(height, canvas[0]), min(width, canvas[1]))
    stride = options.stride or GRID_STRIDE
    return _positions(canvas[0], patch[0], stride) * _positions(canvas[1], patch[1], stride)


def _positions(extent: int, patch: int, stride: int) -> int:
    return max(0, (extent - patch) // stride + 1)


def pass_range(options: CertifyOptions, kind: MediaKind, input_shape: Sequence[int]) -> tuple[int, int]:
    """(fewest, most) model passes of a job: see `JobEstimate.passes_min` and `passes_max`."""
    per_sample = passes_per_sample(options, kind, input_shape)
    fewest_n = options.look_plan()[0] if options.sampling == "adaptive" else options.n
    return (options.n0 + fewest_n) * per_sample, (options.n0 + options.n) * per_sample


def seconds_for(passes: int, passes_per_s: float | None) -> float | None:
    """Sampling time of `passes` at a measured rate (null without a rate)."""
    if passes_per_s is None or passes_per_s <= 0:
        return None
    return passes / passes_per_s


def combined_throughput(figures: list[dict[str, Any]]) -> list[Throughput]:
    """Each arithmetic's median over the workers' published rates (worker/throughput.py).

    The median, not the best: an estimate should hold for the worker a job is likely to
    meet, and one odd worker (a busy host, another GPU) should not move it.
    """
    by_arithmetic = dict[tuple[str, str], list[dict[str, Any]]]()
    for figure in figures:
        by_arithmetic.setdefault((figure["precision"], figure["compile"]), []).append(figure)
    return [Throughput(precision=precision, compile=compile_mode,
                       passes_per_s=round(statistics.median(f["passes_per_s"] for f in group), 1),
                       workers=len(group), jobs=sum(int(f.get("jobs", 0)) for f in group))
            for (precision, compile_mode), group in sorted(by_arithmetic.items())]
