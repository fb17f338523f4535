"""Labelled data sets by path, for `certify evaluate` (locally and through a service).

Class folders, TSV/CSV manifests, CIFAR-10/100 python batches, the ImageNet
validation folder, idx files (MNIST, Fashion-MNIST) and folders of video
clips; read without torch (numpy, Pillow, and the service's own decoders),
so the command line and the service read a data set the same way.
"""

from certify_datasets.classes import ClassMap, match_classes
from certify_datasets.errors import DatasetError
from certify_datasets.model_spec import ModelSpec, Preprocessing
from certify_datasets.opening import FORMATS, SPLITS, detect_format, open_dataset
from certify_datasets.sources import ArrayImages, EvalData, ImageFiles, VideoFiles

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
