"""The contract every layer shares: certification options, results and errors, defined once.

Standard library only, so the torch-free API, the worker, the command line
and the pure library (`certify_core`) can all import it.
"""

from certify_contract.errors import (
    ERROR_CODES,
    CertifyError,
    CodedError,
    ErrorBody,
    ErrorCode,
    InvalidOptionError,
    is_error_code,
)
from certify_contract.geometry_check import check_geometry
from certify_contract.option_spec import MediaKind, OptionSpec
from certify_contract.options import (
    OPTION_NAMES,
    OPTION_SPECS,
    Aggregate,
    CertifyOptions,
    Method,
    NoiseMode,
    Sampling,
    Scores,
)
from certify_contract.results import (
    UNIT_RANGE,
    Certificate,
    CertifiedInput,
    ClipLayout,
    DescribedInput,
    ImageInput,
    JobOutcome,
    ModelRef,
    Outcome,
    PatchLayout,
    Prediction,
    TensorInput,
    VideoInput,
)

__all__ = [
    "ERROR_CODES",
    "OPTION_NAMES",
    "OPTION_SPECS",
    "UNIT_RANGE",
    "Aggregate",
    "Certificate",
    "CertifiedInput",
    "CertifyError",
    "CertifyOptions",
    "ClipLayout",
    "CodedError",
    "DescribedInput",
    "ErrorBody",
    "ErrorCode",
    "ImageInput",
    "InvalidOptionError",
    "JobOutcome",
    "MediaKind",
    "Method",
    "ModelRef",
    "NoiseMode",
    "OptionSpec",
    "Outcome",
    "PatchLayout",
    "Prediction",
    "Sampling",
    "Scores",
    "TensorInput",
    "VideoInput",
    "check_geometry",
    "is_error_code",
]
