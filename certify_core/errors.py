"""Errors the library raises for bad input, each with a stable snake_case code.

They derive from the contract's `CertifyError` (a `CodedError`), so adapters
(command line, worker, API) report every one as `{"error", "detail"}` without
inspecting the message text.
"""

from certify_contract.errors import CertifyError, InvalidOptionError

__all__ = [
    "CertificationCanceled",
    "CertifyError",
    "InputShapeError",
    "InvalidOptionError",
    "ModelLoadError",
    "ModelNotFoundError",
]


class ModelNotFoundError(CertifyError, LookupError):
    error_code = "model_not_found"


class ModelLoadError(CertifyError):
    error_code = "model_load_failed"


class InputShapeError(CertifyError, ValueError):
    error_code = "invalid_input_shape"


class CertificationCanceled(CertifyError):
    """Raised between batches when the caller's cancel check returns True."""

    error_code = "canceled"
