"""Sound randomized smoothing and Smooth-Reduce certification (pure library).

Depends on torch, numpy and scipy only: no web, queue, media or environment
access. Inputs are tensors in [0, 1] pixel space; models map them to logits.
"""

from certify_core.base_classifier import BaseClassifier
from certify_core.certifier import build_classifier, certify, predict, smooth_certify
from certify_core.errors import (
    CertificationCanceled,
    CertifyError,
    InputShapeError,
    InvalidOptionError,
    ModelLoadError,
    ModelNotFoundError,
)
from certify_core.geometry import PatchGeometry, grid_geometry, random_geometry
from certify_core.lift import LiftNorm, geometry_lift_norm
from certify_core.models import LoadedModel, ModelManifest, load_model
from certify_core.options import CertifyOptions
from certify_core.results import Certificate, ModelRef, Prediction

__all__ = [
    "BaseClassifier",
    "Certificate",
    "CertificationCanceled",
    "CertifyError",
    "CertifyOptions",
    "InputShapeError",
    "InvalidOptionError",
    "LiftNorm",
    "LoadedModel",
    "ModelLoadError",
    "ModelManifest",
    "ModelNotFoundError",
    "ModelRef",
    "PatchGeometry",
    "Prediction",
    "build_classifier",
    "certify",
    "geometry_lift_norm",
    "grid_geometry",
    "load_model",
    "predict",
    "random_geometry",
    "smooth_certify",
]
