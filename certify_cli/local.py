"""`certify local`: certify image and video files on this machine, one model load per kind.

Without `--model`, images go to the default image model and videos (sniffed
from their bytes, not their names) to the default video model; both defaults
come from the settings (`CERTIFY_DEFAULT_IMAGE_MODEL`, ...), as in the
service. Files are decoded in the same sandbox as the service's uploads,
unless `--trusted` says they may be decoded in this process.
"""

import argparse
import json
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from certify_cli.errors import CommandError
from certify_cli.options import add_certify_options, options_from_args
from certify_cli.progress import bars_wanted, sample_bar
from certify_cli.summaries import format_certificate
from certify_settings import Settings

if TYPE_CHECKING:  # the library (and torch) loads only when a command runs
    import torch

    from certify_contract import CertifyOptions
    from certify_core import LoadedModel
    from certify_media import MediaLimits, Sandbox


def parse_shape(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected C,H,W integers, got {text!r}") from None
    if len(shape) not in (3, 4) or min(shape) < 1:
        raise argparse.ArgumentTypeError(f"expected C,H,W (or C,T,H,W) positive integers, got {text!r}")
    return shape


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("local", help="certify image and video files locally")
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                        help="image or video files (kind sniffed from the bytes)")
    parser.add_argument("--model", default=None,
                        help="registered model name, model directory, or .pt2/TorchScript file "
                        "(default: CERTIFY_DEFAULT_IMAGE_MODEL or CERTIFY_DEFAULT_VIDEO_MODEL, "
                        "by the file's kind)")
    parser.add_argument("--input-shape", type=parse_shape, default=None,
                        help="C,H,W of a bare model file without a manifest (default: the "
                        "manifest's)")
    add_certify_options(parser)
    parser.add_argument("--frame-policy", choices=("uniform", "fps"), default="uniform",
                        help="video: T frames spread evenly over the video, or sampled at --fps")
    parser.add_argument("--fps", type=float, default=None, help="video: rate of the 'fps' policy "
                        "(default: none; required with --frame-policy fps)")
    parser.add_argument("--seed", type=int, default=None,
                        help="noise seed (default: drawn at random and recorded)")
    parser.add_argument("--device", default=None, help="torch device (default: CERTIFY_DEVICE, else cuda if "
                        "available)")
    parser.add_argument("--trusted", action="store_true",
                        help="decode in this process, without the sandbox (only for files you trust)")
    parser.add_argument("--json", action="store_true",
                        help="one Certificate JSON per line (and no progress bar)")
    parser.set_defaults(handler=run_local)


def run_local(args: argparse.Namespace, settings: Settings) -> int:
    from certify_cli.runtime import choose_device
    from certify_media import MediaLimits, Sandbox

    options = options_from_args(args)
    if args.seed is not None and args.seed < 0:
        raise CommandError(f"Expected --seed >= 0, got {args.seed}.")
    for path in args.paths:
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
    limits = MediaLimits.from_settings(settings)
    sandbox = None if args.trusted else Sandbox(limits.sandbox)
    run = LocalRun(args, settings, options, choose_device(args.device, settings), limits, sandbox)
    try:
        for path in args.paths:
            cert = run.certify_file(path)
            print(json.dumps(cert) if args.json else format_certificate(path, cert), flush=True)
    finally:
        if sandbox is not None:
            sandbox.close()
    return 0


@dataclass
class LocalRun:
    """What `certify local` keeps across its files: one model load per kind, one sandbox.

    Each file gets a progress bar on a terminal; a long certification is
    announced first, with the time a short calibration run predicts.
    """

    args: argparse.Namespace
    settings: Settings
    options: "CertifyOptions"
    device: "torch.device"
    limits: "MediaLimits"
    sandbox: "Sandbox | None"
    models: dict[str, "LoadedModel"] = field(default_factory=dict)

    def certify_file(self, path: Path) -> dict[str, Any]:
        from certify_cli.runtime import decode_for_model, open_model, upload_kind
        from certify_core import certify

        args, data = self.args, path.read_bytes()
        kind = "any" if args.model is not None else (upload_kind(data) or "image")
        if kind not in self.models:
            self.models[kind] = open_model(args.model, self.device, self.settings, kind,
                                           args.input_shape)
        model = self.models[kind]
        tensor, described = decode_for_model(data, model, self.options, self.limits, self.sandbox,
                                             args.frame_policy, args.fps)
        self._announce(path, model, tensor)
        seed = args.seed if args.seed is not None else secrets.randbits(62)
        total = self.options.n0 + self.options.n
        with sample_bar(path.name, bars_wanted(args.json), total) as progress:
            return certify(model, tensor, self.options, seed=seed, progress=progress,
                           described_input=described).to_dict()

    def _announce(self, path: Path, model: "LoadedModel", tensor: "torch.Tensor") -> None:
        from certify_cli.runtime import LONG_RUN_SAMPLES, estimate_seconds

        options = self.options
        samples = options.n0 + options.n
        if samples < LONG_RUN_SAMPLES:
            return
        seconds, rate = estimate_seconds(model, tensor, options)
        if options.sampling == "adaptive":  # it usually stops long before n
            print(f"certify local: {path.name}: n0={options.n0:,} + at most n={options.n:,} noisy "
                  f"samples on {model.name} ({model.device}), at most {seconds:,.0f} s at "
                  f"{rate:,.0f} samples/s", file=sys.stderr, flush=True)
            return
        print(f"certify local: {path.name}: n0={options.n0:,} + n={options.n:,} noisy samples on "
              f"{model.name} ({model.device}), about {seconds:,.0f} s at {rate:,.0f} samples/s "
              "(a smaller --n is faster but caps the radius)", file=sys.stderr, flush=True)
