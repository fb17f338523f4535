"""The certification options shared by `local`, `evaluate` and `submit`."""

import argparse
from typing import TYPE_CHECKING, get_args

from certify_jobs.options import CertifyForm

if TYPE_CHECKING:  # the library (and torch) loads only when a command runs
    from certify_core.options import CertifyOptions


def _choices(field: str) -> tuple[str, ...]:
    """The allowed values of a choice option, from the one torch-free form definition."""
    return get_args(CertifyForm.model_fields[field].annotation)


METHODS, AGGREGATES = _choices("method"), _choices("aggregate")
NOISE_MODES, SCORES = _choices("noise"), _choices("scores")


def add_certify_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("certification")
    group.add_argument("--method", choices=METHODS, default="cohen")
    group.add_argument("--aggregate", choices=AGGREGATES, default="mean")
    group.add_argument("--noise", choices=NOISE_MODES, default="shared")
    group.add_argument("--scores", choices=SCORES, default="softmax",
                       help="aggregate per-patch softmax (default) or raw logits")
    group.add_argument("--sigma", type=float, default=None,
                       help="noise level (default: the model's training sigma)")
    group.add_argument("--n0", type=int, default=100, help="selection samples")
    group.add_argument("--n", type=int, default=100_000, help="estimation samples")
    group.add_argument("--alpha", type=float, default=0.001, help="failure probability")
    group.add_argument("--batch-size", type=int, default=1000,
                       help="model evaluations per forward pass (samples x patches)")
    group.add_argument("--resize", type=int, default=None, help="Smooth-Reduce pre-resize S")
    group.add_argument("--patch-size", type=int, default=None, help="Smooth-Reduce patch size D")
    layout = group.add_mutually_exclusive_group()
    layout.add_argument("--patches", type=int, default=None, help="K patches at seeded random offsets")
    layout.add_argument("--stride", type=int, default=None, help="grid of patches with stride T")
    group.add_argument("--patch-seed", type=int, default=0, help="seed of the random patch offsets")
    group.add_argument("--frames", type=int, default=None,
                       help="video: frames T in the certified tensor (default: twice the model's "
                            "clip length); --patch-size is then the clip length")


def options_from_args(args: argparse.Namespace) -> "CertifyOptions":
    from certify_core.options import CertifyOptions

    options = CertifyOptions(
        method=args.method, aggregate=args.aggregate, noise=args.noise, scores=args.scores,
        sigma=args.sigma, n0=args.n0, n=args.n, alpha=args.alpha, batch_size=args.batch_size,
        resize=args.resize, patch_size=args.patch_size, patches=args.patches,
        stride=args.stride, patch_seed=args.patch_seed, frames=getattr(args, "frames", None),
    )
    options.validate()
    return options
