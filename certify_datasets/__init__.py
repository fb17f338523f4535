"""Labelled data sets by path, for `certify evaluate` (locally and through a service).

Class folders, TSV/CSV manifests, CIFAR-10/100 python batches, the ImageNet
validation folder, idx files (MNIST, Fashion-MNIST) and folders of video
clips; read without torch (numpy, Pillow, and the service's own decoders),
so the command line and the service read a data set the same way.
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from certify_datasets.choices import FORMATS, SPLITS
    from certify_datasets.classes import ClassMap, match_classes
    from certify_datasets.errors import DatasetError
    from certify_datasets.model_spec import ModelSpec, Preprocessing
    from certify_datasets.opening import detect_format, open_dataset
    from certify_datasets.sources import ArrayImages, EvalData, ImageFiles, VideoFiles

# Loaded on first use: a command line that only needs `certify_datasets.choices` stays light.
_HOMES = {
    "ClassMap": "certify_datasets.classes",
    "match_classes": "certify_datasets.classes",
    "DatasetError": "certify_datasets.errors",
    "ModelSpec": "certify_datasets.model_spec",
    "Preprocessing": "certify_datasets.model_spec",
    "FORMATS": "certify_datasets.choices",
    "SPLITS": "certify_datasets.choices",
    "detect_format": "certify_datasets.opening",
    "open_dataset": "certify_datasets.opening",
    "ArrayImages": "certify_datasets.sources",
    "EvalData": "certify_datasets.sources",
    "ImageFiles": "certify_datasets.sources",
    "VideoFiles": "certify_datasets.sources",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'certify_datasets' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)


__all__ = [
    "FORMATS",
    "SPLITS",
    "ArrayImages",
    "ClassMap",
    "DatasetError",
    "EvalData",
    "ImageFiles",
    "ModelSpec",
    "Preprocessing",
    "VideoFiles",
    "detect_format",
    "match_classes",
    "open_dataset",
]
