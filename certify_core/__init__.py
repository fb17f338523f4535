"""Sound randomized smoothing and Smooth-Reduce certification (pure library).

Depends on torch, numpy and scipy only (plus the standard-library contract,
`certify_contract`): no web, queue, media or environment access. Inputs are
tensors in [0, 1] pixel space; models map them to logits.
"""

from certify_contract.errors import CertifyError, InvalidOptionError
from certify_contract.results import Certificate, ModelRef, Prediction
from certify_core.base_classifier import BaseClassifier
from certify_core.certifier import (
    build_classifier,
    certified_input_shape,
    certify,
    predict,
    smooth_certify,
)
from certify_core.clips import ClipGeometry, clip_lift_norm, grid_clips, random_clips
from certify_core.errors import (
    CertificationCanceled,
    InputShapeError,
    ModelLoadError,
    ModelNotFoundError,
)
from certify_core.geometry import PatchGeometry, grid_geometry, random_geometry
from certify_core.lift import LiftNorm, geometry_lift_norm
from certify_core.models import LoadedModel, ModelManifest, load_model
from certify_core.options import CertifyOptions
from certify_core.video import DEFAULT_VIDEO_MODEL, video_input_shape

__all__ = [
    "DEFAULT_VIDEO_MODEL",
    "BaseClassifier",
    "Certificate",
    "CertificationCanceled",
    "CertifyError",
    "CertifyOptions",
    "ClipGeometry",
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
    "certified_input_shape",
    "certify",
    "clip_lift_norm",
    "geometry_lift_norm",
    "grid_clips",
    "grid_geometry",
    "load_model",
    "predict",
    "random_clips",
    "random_geometry",
    "smooth_certify",
    "video_input_shape",
]
