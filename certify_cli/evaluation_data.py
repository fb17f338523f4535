"""The test set of `certify evaluate`: a built-in name or any labelled data set by path.

The class order is printed once (stderr), so a run's labels are never a
guess; `--download` fetches a standard set through torchvision where the
internet is reachable, and says clearly when it is not.
"""

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from certify_cli.errors import CommandError
from certify_datasets.choices import FORMATS, SPLITS
from certify_settings import Settings

if TYPE_CHECKING:
    from certify_datasets import EvalData, ModelSpec

BUILT_IN = ("fashion-mnist", "moving-fashion-mnist")
DOWNLOADS = {"cifar10": ("CIFAR10", "cifar-10-batches-py"), "cifar100": ("CIFAR100", "cifar-100-python"),
             "idx": ("FashionMNIST", "FashionMNIST/raw")}


def add_data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", default="fashion-mnist", metavar="NAME_OR_PATH",
                        help=f"test set: {' or '.join(BUILT_IN)}, or a path (a folder of class "
                        "subfolders, a .tsv/.csv manifest of path and label, a CIFAR python "
                        "folder, an ImageNet validation folder, idx files, a folder of clips per class)")
    parser.add_argument("--data-format", default="auto", choices=FORMATS,
                        help="format of the --dataset path (auto: detected)")
    parser.add_argument("--split", default="test", choices=SPLITS,
                        help="split of a CIFAR or idx folder")
    parser.add_argument("--skip-bad", action="store_true",
                        help="count and report unreadable or unusable items instead of stopping "
                        "at the first (default: stop)")
    parser.add_argument("--download", action="store_true",
                        help="fetch the --data-format (cifar10, cifar100, idx: Fashion-MNIST) "
                        "through torchvision into the --dataset folder first (needs the internet)")


def open_evaluation(args: argparse.Namespace, device: Any, options: Any, settings: Settings
                    ) -> "tuple[Any, EvalData]":
    """Model and test data for a local `certify evaluate`; video sets default to the video model.

    Moving-Fashion-MNIST test videos are rendered with as many frames as the
    certified tensor has, for the first `skip * count` test items only.
    """
    from certify_cli.runtime import open_model
    from certify_core.certifier import certified_input_shape
    from certify_core.datasets import FASHION_MNIST_DIR, load_dataset

    video = data_is_video(args)
    model = open_model(args.model, device, settings, kind="video" if video else "image")
    spec = model_spec(model.manifest.to_dict(), certified_input_shape(model, options))
    if args.dataset == "fashion-mnist":
        return model, built_in(load_dataset("fashion-mnist", "test", settings.fashion_mnist_dir),
                               spec, args.dataset)
    if args.dataset == "moving-fashion-mnist":
        from certify_core.moving_fmnist import load_moving_fashion_mnist

        root = settings.fashion_mnist_dir or FASHION_MNIST_DIR
        videos = load_moving_fashion_mnist("test", count=args.skip * args.count,
                                           frames=spec.input_shape[1], root=root)
        return model, built_in(videos, spec, args.dataset)
    return model, open_path(args, spec)


def data_is_video(args: argparse.Namespace) -> bool:
    """Moving Fashion-MNIST, or a folder of clips: the default model is then the video one."""
    if args.dataset in BUILT_IN:
        return bool(args.dataset == "moving-fashion-mnist")
    if args.data_format == "video-folder":
        return True
    from certify_datasets.folders import VIDEO_SUFFIXES

    path = Path(args.dataset)
    return args.data_format == "auto" and path.is_dir() and any(
        p.suffix.lower() in VIDEO_SUFFIXES for p in path.glob("*/*"))


def model_spec(manifest: Mapping[str, Any], input_shape: tuple[int, ...]) -> "ModelSpec":
    from certify_datasets import DatasetError, ModelSpec

    try:
        return ModelSpec.from_manifest(manifest, input_shape)
    except DatasetError as exc:
        raise CommandError(str(exc)) from exc


def built_in(dataset: Any, spec: "ModelSpec", name: str) -> "EvalData":
    """A `certify_core.datasets.LabeledDataset` as evaluation data (labels as stored)."""
    from certify_datasets import ArrayImages

    return ArrayImages(dataset.inputs, dataset.labels, spec, name,
                       f"class order: {name}'s class indices", name, kind=spec.kind)


def open_path(args: argparse.Namespace, spec: "ModelSpec") -> "EvalData":
    from certify_datasets import DatasetError, open_dataset

    path = Path(args.dataset)
    if args.download:
        path = download(path, args.data_format)
    try:
        data = open_dataset(path, spec, args.data_format, args.split)
    except DatasetError as exc:
        raise CommandError(str(exc)) from exc
    print(f"certify: {data.format} data set {path}: {len(data)} items; {data.class_note}.",
          file=sys.stderr)
    return data


def download(root: Path, data_format: str) -> Path:
    if data_format not in DOWNLOADS:
        raise CommandError(f"--download fetches --data-format {', '.join(DOWNLOADS)}, not "
                           f"{data_format!r}.")
    name, folder = DOWNLOADS[data_format]
    from torchvision import datasets

    try:
        getattr(datasets, name)(str(root), train=False, download=True)
    except (OSError, RuntimeError, ValueError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise CommandError(f"--download: could not fetch {name} through torchvision into {root} "
                           f"({reason[:200]}); without internet access, put the extracted "
                           f"{folder} folder there and run without --download.") from exc
    return root / folder
