"""Certifier throughput against a bare forward loop of the same model.

Prints model evaluations per second for `certify` (noise drawn on the device,
views, votes, bincount) and for a plain `model(batch)` loop over batches of the
same size, for Cohen and for Smooth-Reduce with k = 9 (shared and independent
noise), and the ratio of the two measured in this one run. Repetitions are
interleaved so that background load hits both sides alike; medians reported.

    python benchmarks/throughput.py [--n 4000] [--batch-size 900] [--repeats 5]
"""

import argparse
import statistics
import time

import torch

from certify_core import CertifyOptions, certify
from certify_core.models import LoadedModel, ModelManifest, Normalization
from certify_core.models.architectures import NormalizeLayer, fmnist_cnn


def demo_model(device: torch.device) -> LoadedModel:
    norm = Normalization((0.286,), (0.353,))
    module = torch.nn.Sequential(NormalizeLayer(norm), fmnist_cnn()).to(device).eval()
    module = module.to(memory_format=torch.channels_last)
    manifest = ModelManifest("bench", "state_dict", "-", (1, 28, 28), tuple("0123456789"), 0.25)
    return LoadedModel("bench", module, manifest, "-", device)


def bare_loop(model: LoadedModel, evaluations: int, batch: int) -> float:
    """Seconds for `evaluations` forward passes' worth of images in batches of `batch`."""
    x = torch.rand((batch, 1, 28, 28), device=model.device).contiguous(
        memory_format=torch.channels_last)
    done = 0
    start = time.perf_counter()
    with torch.inference_mode():
        while done < evaluations:
            size = min(batch, evaluations - done)
            model.module(x[:size]).argmax(dim=1)
            done += size
    if model.device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def certifier_run(model: LoadedModel, options: CertifyOptions) -> tuple[float, int]:
    x = torch.rand((1, 28, 28))
    start = time.perf_counter()
    cert = certify(model, x, options, seed=0)
    elapsed = time.perf_counter() - start
    k = cert.geometry["k"] if cert.geometry else 1
    return elapsed, (options.n0 + options.n) * k


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--batch-size", type=int, default=900)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    model = demo_model(device)
    cases = {
        "cohen": CertifyOptions(n0=100, n=args.n, batch_size=args.batch_size, sigma=0.25),
        "smooth-reduce k=9 shared": CertifyOptions(
            method="smooth-reduce", n0=10, n=args.n // 9, batch_size=args.batch_size, sigma=0.25),
        "smooth-reduce k=9 independent": CertifyOptions(
            method="smooth-reduce", noise="independent", n0=10, n=args.n // 9,
            batch_size=args.batch_size, sigma=0.25),
    }
    print(f"device={device} threads={torch.get_num_threads()} batch={args.batch_size} "
          f"(model evaluations per forward pass)")
    print(f"{'case':32} {'certify eval/s':>15} {'bare eval/s':>12} {'ratio':>7}")
    for name, options in cases.items():
        certifier_run(model, options)  # warm-up
        ours, bare = [], []
        for _ in range(args.repeats):
            elapsed, evaluations = certifier_run(model, options)
            ours.append(evaluations / elapsed)
            bare.append(evaluations / bare_loop(model, evaluations, args.batch_size))
        ours_rate, bare_rate = statistics.median(ours), statistics.median(bare)
        print(f"{name:32} {ours_rate:15.0f} {bare_rate:12.0f} {ours_rate / bare_rate:7.3f}")


if __name__ == "__main__":
    main()
