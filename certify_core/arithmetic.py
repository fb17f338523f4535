"""How the base model computes: its precision and whether it runs compiled.

Both are part of the classifier being certified, not hidden optimisations: the
smoothed classifier of a bf16 model is a different (equally valid) classifier,
so every certificate records them and a re-check reproduces them.

- `precision`: fp32, or the model under `torch.autocast` in bf16 (CPU or CUDA)
  or fp16 (CUDA only). Autocast keeps the normalization layer and reductions in
  fp32 and runs convolutions and matrix products in the reduced type.
- `compile`: eager, or `torch.compile` in a mode, with Inductor's freezing
  (weights folded as constants: inference only). A compiled model is built once
  per process and kept on its `LoadedModel`, never per job.

Batch shapes. On the CPU the votes of eager fp32 and bf16 do not depend on the
batch size (tests/core/test_arithmetic.py). A compiled model specialises on its
input shape (a new shape would recompile), and on CUDA the kernels chosen for
reduced precision depend on the shape; in those cases every forward pass has
exactly `forward_rows` rows (padded), the passes are aligned to the sample
stream, and the certificate records `forward_rows`.
"""

import contextlib
import time
from dataclasses import dataclass
from typing import cast, get_args

import torch
from torch import nn

from certify_contract.options import CertifyOptions, CompileMode, Precision
from certify_contract.throughput import requested_arithmetic
from certify_core.errors import InvalidOptionError
from certify_core.models.loading import LoadedModel

# Rows of each forward pass when the shape is fixed: large enough to keep a GPU's
# tensor cores busy with an ImageNet ResNet-50, small enough that padding the last
# pass of a certificate costs little. Video rows are clips of many frames.
FORWARD_ROWS = 256
VIDEO_FORWARD_ROWS = 32
_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass(frozen=True)
class Arithmetic:
    """The resolved precision and compile mode, and the fixed batch shape they need (if any)."""

    precision: Precision = "fp32"
    compile: CompileMode = "off"
    forward_rows: int | None = None

    def autocast(self, device: torch.device) -> contextlib.AbstractContextManager[object]:
        """The context the model runs in: nothing for fp32, else autocast to the reduced type."""
        if self.precision == "fp32":
            return contextlib.nullcontext()
        return torch.autocast(device.type, dtype=_DTYPES[self.precision])


EAGER_FP32 = Arithmetic()


def resolve_arithmetic(options: CertifyOptions, model: LoadedModel) -> Arithmetic:
    """The options' precision and compile mode, else the manifest's, else fp32 and eager."""
    requested = requested_arithmetic(options, {"precision": model.manifest.precision,
                                               "compile": model.manifest.compile})
    precision, compile_mode = cast(Precision, requested[0]), cast(CompileMode, requested[1])
    check_precision(precision, model.device)
    return Arithmetic(precision, compile_mode,
                      fixed_forward_rows(precision, compile_mode, model))


def check_precision(precision: str, device: torch.device) -> None:
    if precision not in get_args(Precision):
        raise InvalidOptionError(f"Expected `precision` in {list(get_args(Precision))}, "
                                 f"got {precision!r}.", "precision")
    if precision == "fp16" and device.type != "cuda":
        raise InvalidOptionError(
            f"`precision` fp16 runs on CUDA only; this model runs on {device.type}.", "precision")
    if precision == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise InvalidOptionError("This CUDA device has no bf16 support; use fp16 or fp32.",
                                 "precision")


def fixed_forward_rows(precision: str, compile_mode: str, model: LoadedModel) -> int | None:
    """Rows per forward pass when the shape must be fixed (see the module's docstring)."""
    if compile_mode == "off" and (precision == "fp32" or model.device.type != "cuda"):
        return None
    return VIDEO_FORWARD_ROWS if model.manifest.kind == "video" else FORWARD_ROWS


def runner(model: LoadedModel, arithmetic: Arithmetic) -> nn.Module:
    """The module that runs the forward passes: the model itself, or its compiled form.

    Compiled forms are cached on `model` by mode: the first call per process
    compiles (seconds to a minute), later calls reuse it.
    """
    if arithmetic.compile == "off":
        return model.module
    compiled = model.compiled.get(arithmetic.compile)
    if compiled is None:
        options = {**torch._inductor.list_mode_options(arithmetic.compile), "freezing": True}
        compiled = cast(nn.Module, torch.compile(model.module, options=options, dynamic=False))
        model.compiled[arithmetic.compile] = compiled
    return compiled


def warm_up(model: LoadedModel, arithmetic: Arithmetic) -> float:
    """Run one forward pass of the shape the certifier uses; seconds taken (compiles, if needed)."""
    rows = arithmetic.forward_rows or 2
    batch = torch.zeros((rows, *model.input_shape), device=model.device)
    if batch.dim() == 4:
        batch = batch.contiguous(memory_format=torch.channels_last)
    start = time.perf_counter()
    with torch.inference_mode(), arithmetic.autocast(model.device):
        runner(model, arithmetic)(batch)
    if model.device.type == "cuda":
        torch.cuda.synchronize(model.device)
    return time.perf_counter() - start


# Rows of the timed passes when the arithmetic does not fix them: enough that a pass's
# cost no longer falls with the batch on a CPU, few enough to add well under a second to a
# worker's start per model (jobs then correct the figure at their own batch size).
MEASURE_ROWS = {"image": FORWARD_ROWS, "video": 16}


def measure_passes(model: LoadedModel, arithmetic: Arithmetic, generator: torch.Generator,
                   min_seconds: float = 0.2, max_batches: int = 20) -> tuple[int, float]:
    """Time noisy forward passes as sampling runs them, after `warm_up`: (passes, seconds).

    A pass is one noisy input through the model (certify_contract.throughput); each
    batch draws its noise (the certifier's cost too) and runs the model, until
    `min_seconds` have passed (at least two batches, at most `max_batches`).
    """
    rows = arithmetic.forward_rows or MEASURE_ROWS[model.manifest.kind]
    centre = torch.full((1, *model.input_shape), 0.5, device=model.device)
    passes, start = 0, time.perf_counter()
    with torch.inference_mode(), arithmetic.autocast(model.device):
        for batch_index in range(max_batches):
            noise = torch.randn((rows, *model.input_shape), generator=generator,
                                device=model.device)
            batch = centre + 0.25 * noise
            if batch.dim() == 4:
                batch = batch.contiguous(memory_format=torch.channels_last)
            runner(model, arithmetic)(batch).argmax(dim=1).cpu()  # votes leave the device
            passes += rows
            if batch_index >= 1 and time.perf_counter() - start >= min_seconds:
                break
    return passes, time.perf_counter() - start
