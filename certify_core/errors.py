"""Errors the library raises for bad input, each with a stable snake_case code.

Adapters (command line, worker, API) turn these into one-line messages or
`{"error", "detail"}` bodies without inspecting the message text.
"""


class CertifyError(Exception):
    """Base class: a request the library refuses, with a machine-readable code."""

    code = "certify_error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidOptionError(CertifyError, ValueError):
    code = "invalid_option"


class ModelNotFoundError(CertifyError, LookupError):
    code = "model_not_found"


class ModelLoadError(CertifyError):
    code = "model_load_failed"


class InputShapeError(CertifyError, ValueError):
    code = "invalid_input_shape"


class CertificationCanceled(CertifyError):
    """Raised between batches when the caller's cancel check returns True."""

    code = "canceled"
