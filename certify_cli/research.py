"""`certify train`, `certify evaluate`, `certify plot`: the research workflow.

evaluate writes, in --out: `certify.tsv` (the reference columns `idx label
predict radius correct time`, plus `naive_radius_not_sound` for
independent-noise Smooth-Reduce), `summary.json` and `summary.md`.
"""

import argparse
import platform
import sys
import time
from pathlib import Path
from typing import Any

from certify_cli.errors import CommandError
from certify_cli.evaluation_data import add_data_options
from certify_cli.options import add_certify_options, options_from_args
from certify_contract.evaluation import STANDARD_RADII
from certify_settings import Settings

DEFAULT_RADII = STANDARD_RADII


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    _register_train(subparsers)
    _register_evaluate(subparsers)
    plot = subparsers.add_parser("plot", help="plot certified accuracy against radius")
    plot.add_argument("runs", nargs="+", type=Path, metavar="RUN_DIR",
                      help="`certify evaluate --out` folders, one line each")
    plot.add_argument("--out", type=Path, required=True, help="PNG file to write")
    plot.add_argument("--title", default=None, help="title above the plot (default: none)")
    plot.set_defaults(handler=run_plot)


def _register_train(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    train = subparsers.add_parser("train", help="train a noise-robust base model")
    train.add_argument("--dataset", default="fashion-mnist", choices=("fashion-mnist",),
                       help="training data (CERTIFY_FASHION_MNIST_DIR says where it is)")
    train.add_argument("--sigma", type=float, required=True,
                       help="training noise level, in [0, 1] pixel units")
    train.add_argument("--epochs", type=int, default=2,
                       help="passes over the 60,000 training images (each took about 4.7 minutes "
                       "of CPU time in the README's measured run; wall time grows with the "
                       "cores' load)")
    train.add_argument("--seed", type=int, default=0, help="seed of weights, shuffling and noise")
    train.add_argument("--batch-size", type=int, default=128, help="images per optimizer step")
    train.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    train.add_argument("--view-probability", type=float, default=0.5,
                       help="probability of the Smooth-Reduce patch view per image")
    train.add_argument("--name", default=None, help="model name (default: the --out folder name)")
    train.add_argument("--out", type=Path, required=True,
                       help="folder for weights and manifest")
    train.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    train.set_defaults(handler=run_train)


def _register_evaluate(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    evaluate = subparsers.add_parser("evaluate", help="certify a test set and write metrics")
    add_data_options(evaluate)
    evaluate.add_argument("--model", default=None,
                          help="registered name or model directory (default: the default image "
                          "or video model, by the data set)")
    add_certify_options(evaluate)
    evaluate.add_argument("--count", type=int, default=500, help="test images to certify")
    evaluate.add_argument("--skip", type=int, default=1,
                          help="certify every SKIP-th test image (as the reference code)")
    evaluate.add_argument("--seed", type=int, default=0, help="image i uses noise seed SEED + i")
    evaluate.add_argument("--radii", type=float, nargs="+", default=list(DEFAULT_RADII),
                          help="radii of the certified-accuracy columns")
    evaluate.add_argument("--label", default=None,
                          help="name of this run in tables and plots (default: method and n)")
    evaluate.add_argument("--device", default=None,
                          help="torch device (default: CERTIFY_DEVICE, else cuda if available)")
    evaluate.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    evaluate.add_argument("--out", type=Path, required=True,
                          help="output folder")
    evaluate.add_argument("--service", default=None, metavar="URL",
                          help="send the images as one batch to the service at URL instead of "
                          "certifying here (default: certify locally)")
    evaluate.add_argument("--api-key", default=None,
                          help="X-API-Key for --service (default: CERTIFY_API_KEY)")
    evaluate.set_defaults(handler=run_evaluate)


def _positive(name: str, value: int) -> None:
    if value < 1:
        raise CommandError(f"Expected --{name} >= 1, got {value}.")


def run_train(args: argparse.Namespace, settings: Settings) -> int:
    import torch

    from certify_cli.progress import terminal_bar
    from certify_core.datasets import load_dataset
    from certify_core.training import TrainConfig, save_model, test_accuracies, train_model

    _positive("threads", args.threads)
    torch.set_num_threads(args.threads)
    config = TrainConfig(sigma=args.sigma, epochs=args.epochs, seed=args.seed,
                         batch_size=args.batch_size, learning_rate=args.lr,
                         view_probability=args.view_probability)
    config.validate()
    root = settings.fashion_mnist_dir
    train, test = load_dataset(args.dataset, "train", root), load_dataset(args.dataset, "test", root)
    with terminal_bar(desc="train", unit="step") as bar:
        def progress(done: int, total: int, loss: float) -> None:
            bar.total = total
            bar.update(done - bar.n)
            bar.set_postfix(loss=f"{loss:.3f}", refresh=False)

        model, normalization = train_model(config, train, progress)
    metrics = test_accuracies(model, test, config.sigma, seed=config.seed, count=len(test))
    name = args.name or args.out.name
    manifest = save_model(
        args.out, name, model, normalization, config, train, metrics, args.dataset
    )
    print(f"{name}: clean accuracy {metrics['clean_accuracy']:.4f}, noisy accuracy "
          f"{metrics['noisy_accuracy']:.4f} (sigma {config.sigma}) -> {args.out} "
          f"sha256 {manifest.sha256}")
    return 0


def run_evaluate(args: argparse.Namespace, settings: Settings) -> int:
    import torch

    from certify_cli.evaluate_run import evaluate_dataset, summary_markdown
    from certify_cli.evaluation_data import open_evaluation
    from certify_cli.runtime import choose_device

    options = options_from_args(args)
    for name in ("count", "skip", "threads"):
        _positive(name, getattr(args, name))
    if args.service:
        from certify_cli.evaluate_service import evaluate_on_service

        args.out.mkdir(parents=True, exist_ok=True)
        print(summary_markdown([evaluate_on_service(args, settings, options)]), end="")
        return 0
    torch.set_num_threads(args.threads)
    model, data = open_evaluation(args, choose_device(args.device, settings), options, settings)
    args.out.mkdir(parents=True, exist_ok=True)
    run = {**run_info(args, model, options), "data_format": data.format, "classes": data.class_note}
    summary = evaluate_dataset(model, data, options, args, run)
    print(summary_markdown([summary]), end="")
    return 0


def run_info(args: argparse.Namespace, model: Any, options: Any) -> dict[str, Any]:
    """Everything needed to repeat the run: command, model hash, seeds, machine."""
    import torch

    return {
        "label": args.label or default_label(options),
        "command": " ".join(["certify", *sys.argv[1:]]),
        "dataset": args.dataset, "count": args.count, "skip": args.skip,
        "seed": args.seed, "seed_rule": "image idx uses seed + idx",
        "model": model.name, "model_sha256": model.sha256,
        "options": options.to_dict(),
        "machine": {"platform": platform.platform(), "processor": platform.machine(),
                    "torch": torch.__version__, "threads": torch.get_num_threads(),
                    "device": str(model.device)},
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def default_label(options: Any) -> str:
    n = f"n={options.n}" if options.sampling == "fixed" else f"adaptive n_max={options.n}"
    if options.sampling == "adaptive" and options.radius is not None:
        n += f" R={options.radius:g}"
    if options.method == "cohen":
        return f"cohen {n}"
    return f"smooth-reduce {options.aggregate} {options.noise} {n}"


def run_plot(args: argparse.Namespace, settings: Settings) -> int:
    from certify_cli.evaluate_run import TSV_NAME, plot_runs

    for run in args.runs:
        if not (run / TSV_NAME).is_file():
            raise CommandError(f"{run} has no {TSV_NAME}; give `certify evaluate` output folders.")
    plot_runs(args.runs, args.out, args.title)
    print(f"wrote {args.out}")
    return 0

