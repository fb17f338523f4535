"""Class-per-subfolder layouts: images, the ImageNet validation folder, clips of video.

`root/<class>/<file>`; files are taken in sorted order, hidden files and
files of other kinds are left out. An empty class folder is an error (a
class silently missing from a test set changes every per-class figure).
"""

import re
from pathlib import Path

from certify_datasets.classes import match_classes
from certify_datasets.errors import DatasetError
from certify_datasets.images import IMAGE_SUFFIXES
from certify_datasets.model_spec import ModelSpec
from certify_datasets.sources import ImageFiles, VideoFiles

VIDEO_SUFFIXES = (".mp4", ".mkv", ".avi", ".webm", ".mov")
SYNSET = re.compile(r"n\d{8}")


def class_folders(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def is_synset_folder(root: Path) -> bool:
    folders = class_folders(root)
    return bool(folders) and all(SYNSET.fullmatch(p.name) for p in folders)


def _files(folder: Path, suffixes: tuple[str, ...]) -> list[Path]:
    files = sorted(p for p in folder.iterdir()
                   if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in suffixes)
    if not files:
        raise DatasetError(str(folder), f"empty class folder: no files ending in {', '.join(suffixes)}.")
    return files


def _scan(root: Path, model: ModelSpec, suffixes: tuple[str, ...],
          order: str) -> tuple[list[Path], list[int], str]:
    folders = class_folders(root)
    if not folders:
        raise DatasetError(str(root), "no class folders: expected one subfolder of files per class.")
    names = tuple(p.name for p in folders)
    classes = match_classes(str(root), names, model.class_names, order)
    paths, labels = [], []
    for folder, label in zip(folders, classes.to_model, strict=True):
        files = _files(folder, suffixes)
        paths += files
        labels += [label] * len(files)
    return paths, labels, classes.note


def image_folder(root: Path, model: ModelSpec) -> ImageFiles:
    paths, labels, note = _scan(root, model, IMAGE_SUFFIXES, "sorted folder names")
    return ImageFiles(paths, labels, model, "folder", note)


def imagenet_val(root: Path, model: ModelSpec) -> ImageFiles:
    """Synset folders (n01440764, ...): their sorted order is ImageNet's class index order."""
    if not is_synset_folder(root):
        raise DatasetError(str(root), "not an ImageNet validation folder: expected synset "
                           "subfolders named like n01440764.")
    paths, labels, note = _scan(root, model, IMAGE_SUFFIXES, "sorted synsets (ImageNet's order)")
    return ImageFiles(paths, labels, model, "imagenet-val", note)


def video_folder(root: Path, model: ModelSpec) -> VideoFiles:
    paths, labels, note = _scan(root, model, VIDEO_SUFFIXES, "sorted folder names")
    return VideoFiles(paths, labels, model, "video-folder", note)
