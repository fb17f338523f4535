"""Certifier throughput against a bare forward loop, per precision and compile mode.

For each case (Cohen; Smooth-Reduce with k = 9, shared and independent noise)
and each mode (precision:compile, e.g. fp32:off, bf16:default) it prints model
evaluations per second for `certify` (noise drawn on the device, views, votes,
bincount) and for a plain forward loop of the same module in the same mode at
the same batch shape, their ratio, the certifier's speed against fp32 eager of
the same case, and the achieved FLOP/s (the model's FLOPs counted per
evaluation) against the CPU's estimated peak (certify_testkit/machine.py), and for
Cohen the share of the certifier's time per pass spent drawing that pass's noise.
Compiling happens once per mode, before timing; repetitions are interleaved
across modes so that background load hits all alike; medians reported.

    python benchmarks/throughput.py [--model fmnist|resnet50] [--modes fp32:off,bf16:off,...]
        [--cases cohen,...] [--n 5000] [--batch-size 900] [--repeats 3] [--device cuda]
"""

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from certify_core import CertifyOptions, certify
from certify_core.arithmetic import (
    Arithmetic,
    check_precision,
    fixed_forward_rows,
    model_layout,
    runner,
    warm_up,
)
from certify_core.models import LoadedModel, ModelManifest, load_model
from certify_core.models.loading import DEFAULT_IMAGE_MODEL
from certify_core.models.reference import IMAGENET_NORMALIZATION, torchvision_resnet50
from certify_core.sampling import NoiseStream

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # certify_testkit is not installed
from certify_testkit.machine import cpu_peak

CASES: dict[str, Callable[[int, int], CertifyOptions]] = {
    "cohen": lambda n, batch: CertifyOptions(n0=100, n=n, batch_size=batch, sigma=0.25),
    "smooth-reduce-shared": lambda n, batch: CertifyOptions(
        method="smooth-reduce", n0=10, n=n // 9, batch_size=batch, sigma=0.25),
    "smooth-reduce-independent": lambda n, batch: CertifyOptions(
        method="smooth-reduce", noise="independent", n0=10, n=n // 9, batch_size=batch,
        sigma=0.25),
}


def bench_model(name: str, device: torch.device) -> LoadedModel:
    """The shipped Fashion-MNIST CNN, or an ImageNet ResNet-50 (random weights) at 224 x 224."""
    if name == "fmnist":
        return load_model(DEFAULT_IMAGE_MODEL, device)
    from certify_core.models.architectures import NormalizeLayer

    module = torch.nn.Sequential(NormalizeLayer(IMAGENET_NORMALIZATION), torchvision_resnet50())
    module = module.to(device).eval().to(memory_format=torch.channels_last)
    manifest = ModelManifest("resnet50", "state_dict", "-", (3, 224, 224),
                             tuple(str(i) for i in range(1000)), 0.25)
    return LoadedModel("resnet50", module, manifest, "-", device)


def flops_per_evaluation(model: LoadedModel) -> float:
    x = torch.rand((1, *model.input_shape), device=model.device)
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        model.module(x)
    return float(counter.get_total_flops())


@dataclass(frozen=True)
class Mode:
    precision: str
    compile: str

    @property
    def label(self) -> str:
        return f"{self.precision}:{self.compile}"


def arithmetic_for(model: LoadedModel, mode: Mode) -> Arithmetic:
    check_precision(mode.precision, model.device)
    rows = fixed_forward_rows(mode.precision, mode.compile, model)
    return Arithmetic(mode.precision, mode.compile, rows)  # type: ignore[arg-type]


def bare_loop(model: LoadedModel, arithmetic: Arithmetic, evaluations: int, batch: int) -> float:
    """Seconds for `evaluations` forward passes' worth of images in batches of `batch` rows."""
    module = runner(model, arithmetic)
    with torch.inference_mode():  # the certifier's kind of tensor: the same compiled graph
        x = model_layout(torch.rand((batch, *model.input_shape), device=model.device))
    done = 0
    sync()
    start = time.perf_counter()
    with torch.inference_mode(), arithmetic.autocast(model.device):
        while done < evaluations:
            # A fixed shape runs whole passes; otherwise the last pass is partial.
            size = batch if arithmetic.forward_rows else min(batch, evaluations - done)
            module(x[:size]).argmax(dim=1)
            done += size
    sync()
    return time.perf_counter() - start


def sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def noise_seconds(model: LoadedModel, rows: int, passes: int = 30) -> float:
    """Seconds to draw one pass's noisy inputs (`rows` samples): the certifier's own work
    per pass beside the forward pass, serial by design (one generator, one stream)."""
    stream = NoiseStream(torch.Size(model.input_shape), torch.Generator(model.device).manual_seed(0),
                         model.device)
    center = torch.rand(model.input_shape, device=model.device)
    stream.noisy(rows, 0.25, center)  # the first block, outside the timing
    sync()
    start = time.perf_counter()
    for _ in range(passes):
        stream.noisy(rows, 0.25, center)
    sync()
    return (time.perf_counter() - start) / passes


def certifier_run(model: LoadedModel, options: CertifyOptions) -> tuple[float, int]:
    x = torch.rand(model.input_shape)
    start = time.perf_counter()
    cert = certify(model, x, options, seed=0)
    sync()
    return time.perf_counter() - start, cert.model_evaluations or 0


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--model", choices=("fmnist", "resnet50"), default="fmnist")
    parser.add_argument("--modes", default="fp32:off,bf16:off,fp32:default,bf16:default")
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--n", type=int, default=5_000)
    parser.add_argument("--batch-size", type=int, default=900)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--markdown", type=Path, default=None,
                        help="also write the table here, as Markdown, with the run's conditions")
    args = parser.parse_args()
    device = torch.device(args.device)
    model = bench_model(args.model, device)
    modes = [Mode(*item.split(":")) for item in args.modes.split(",")]
    flops = flops_per_evaluation(model)
    peak = cpu_peak() if device.type == "cpu" else None
    print(f"model={args.model} device={device} threads={torch.get_num_threads()} "
          f"batch={args.batch_size} n={args.n} model FLOPs per evaluation={flops / 1e6:.2f} M")
    print(peak.describe() if peak else "peak: not estimated off the CPU")
    arithmetics = {mode: arithmetic_for(model, mode) for mode in modes}
    for mode, arithmetic in arithmetics.items():
        print(f"warm-up {mode.label}: {warm_up(model, arithmetic):.1f} s (compiling, if asked)")
    header = ["case", "precision", "compile", "rows", "certify eval/s", "bare eval/s", "ratio",
              "vs fp32 eager", "GFLOP/s", "% of peak", "noise % of a pass"]
    table: list[list[str]] = []
    for case in args.cases.split(","):
        rates = measure(model, case, arithmetics, args)
        base = rates.get(Mode("fp32", "off"), (0.0, 0.0))[0]
        for mode, (ours, bare) in rates.items():
            achieved = ours * flops
            rows = arithmetics[mode].forward_rows or args.batch_size
            # Drawing the noise of one pass against the certifier's whole time per pass (Cohen:
            # one sample per row; Smooth-Reduce's noise space differs, not measured).
            noise_share = noise_seconds(model, rows) / (rows / ours) if case == "cohen" else None
            table.append([
                case, mode.precision, mode.compile,
                str(arithmetics[mode].forward_rows or args.batch_size), f"{ours:.0f}",
                f"{bare:.0f}", f"{ours / bare:.3f}", f"{ours / base:.2f}x" if base else "n/a",
                f"{achieved / 1e9:.1f}",
                f"{100 * achieved / peak.peak(mode.precision):.1f}" if peak else "n/a",
                f"{100 * noise_share:.1f}" if noise_share is not None else "n/a"])
            print("  ".join(table[-1]), flush=True)
    if args.markdown is not None:
        conditions = (f"{args.model}, {flops / 1e6:.2f} M FLOPs per evaluation, n = {args.n}, "
                      f"batch {args.batch_size}, {args.repeats} interleaved repeats (medians), "
                      f"{torch.get_num_threads()} threads on {device}; "
                      f"{peak.describe() if peak else 'peak not estimated'}; load average "
                      f"{os.getloadavg()[0]:.1f} at the end")
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(row) + " |" for row in table]
        args.markdown.write_text("\n".join(lines) + f"\n\n{conditions}.\n")


def measure(model: LoadedModel, case: str, arithmetics: dict[Mode, Arithmetic],
            args: argparse.Namespace) -> dict[Mode, tuple[float, float]]:
    """Median (certify, bare) evaluations per second per mode, repetitions interleaved."""
    samples: dict[Mode, tuple[list[float], list[float]]] = {mode: ([], []) for mode in arithmetics}
    options = {mode: CertifyOptions.from_dict({**CASES[case](args.n, args.batch_size).to_dict(),
                                               "precision": mode.precision, "compile": mode.compile})
               for mode in arithmetics}
    for mode, arithmetic in arithmetics.items():  # warm-up: views, noise buffers, the bare loop
        certifier_run(model, options[mode])
        bare_loop(model, arithmetic, 1, arithmetic.forward_rows or args.batch_size)
    for _ in range(args.repeats):
        for mode, arithmetic in arithmetics.items():
            elapsed, evaluations = certifier_run(model, options[mode])
            rows = arithmetic.forward_rows or args.batch_size
            samples[mode][0].append(evaluations / elapsed)
            samples[mode][1].append(evaluations / bare_loop(model, arithmetic, evaluations, rows))
    return {mode: (statistics.median(ours), statistics.median(bare))
            for mode, (ours, bare) in samples.items()}


if __name__ == "__main__":
    main()
