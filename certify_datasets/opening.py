"""A labelled data set by path, its format detected or named."""

from pathlib import Path

from certify_datasets.choices import FORMATS, SPLITS
from certify_datasets.cifar import CIFAR10, cifar_folder, cifar_variant
from certify_datasets.errors import DatasetError
from certify_datasets.folders import (
    VIDEO_SUFFIXES,
    class_folders,
    image_folder,
    imagenet_val,
    is_synset_folder,
    video_folder,
)
from certify_datasets.idx import PREFIX, find_idx, idx_folder
from certify_datasets.manifest_file import MANIFEST_SUFFIXES, manifest_file
from certify_datasets.model_spec import ModelSpec
from certify_datasets.sources import EvalData

assert set(SPLITS) == set(PREFIX), "every split has its idx file prefix"
# Where torchvision's downloads put the CIFAR batches under their root.
TORCHVISION_FOLDERS = ("cifar-10-batches-py", "cifar-100-python")
IMAGE_FORMATS = frozenset({"folder", "cifar10", "cifar100", "imagenet-val", "idx"})


def detect_format(path: Path, model: ModelSpec, split: str = "test") -> str:
    if path.is_file():
        if path.suffix.lower() in MANIFEST_SUFFIXES:
            return "manifest"
        raise DatasetError(str(path), "not a data set: a file must be a .tsv or .csv manifest of "
                           "`path` and `label`.")
    if not path.is_dir():
        raise DatasetError(str(path), "no such file or folder.")
    variant = cifar_variant(path)
    if variant is not None:
        return "cifar10" if variant is CIFAR10 else "cifar100"
    if find_idx(path, split, "images") is not None:
        return "idx"
    if is_synset_folder(path):
        return "imagenet-val"
    folders = class_folders(path)
    if folders:
        videos = any(p.suffix.lower() in VIDEO_SUFFIXES for f in folders for p in f.iterdir())
        return "video-folder" if videos or model.kind == "video" else "folder"
    raise DatasetError(str(path), "format not recognised: expected class subfolders, a CIFAR "
                       "python folder, idx files, or a .tsv/.csv manifest (or name it with "
                       f"--data-format, one of {', '.join(FORMATS[1:])}).")


def _resolve(path: Path) -> Path:
    """A torchvision download root holds its CIFAR folder one level down."""
    for name in TORCHVISION_FOLDERS:
        if path.is_dir() and not any(path.glob("*meta")) and (path / name).is_dir():
            return path / name
    return path


def open_dataset(path: Path, model: ModelSpec, data_format: str = "auto",
                 split: str = "test") -> EvalData:
    """The labelled items of `path`, prepared for `model` (its manifest's preprocessing)."""
    if data_format not in FORMATS:
        raise DatasetError(str(path), f"unknown data format {data_format!r}; expected one of "
                           f"{', '.join(FORMATS)}.")
    if split not in SPLITS:
        raise DatasetError(str(path), f"unknown split {split!r}; expected one of {', '.join(SPLITS)}.")
    path = _resolve(path)
    fmt = detect_format(path, model, split) if data_format == "auto" else data_format
    if fmt in IMAGE_FORMATS and model.kind != "image":
        raise DatasetError(str(path), f"model {model.name} takes {model.kind} input; this {fmt} "
                           "data set holds images.")
    if fmt == "video-folder" and model.kind != "video":
        raise DatasetError(str(path), f"model {model.name} takes images; this folder holds videos.")
    if fmt == "manifest":
        return manifest_file(path, model)
    if fmt in ("cifar10", "cifar100"):
        return cifar_folder(path, model, split)
    if fmt == "idx":
        return idx_folder(path, model, split)
    if fmt == "imagenet-val":
        return imagenet_val(path, model)
    if fmt == "video-folder":
        return video_folder(path, model)
    return image_folder(path, model)
