"""Every error code of the project, and the one coded-error base class.

Each code is a stable snake_case word that callers may branch on; the
sentence beside it (`detail`) is for humans. Every HTTP error body and every
failed job carries the same pair, `{"error": code, "detail": sentence}`.
`docs/ERRORS.md` documents each code; a test keeps that table and
`ErrorCode` equal, and mypy refuses a code that `ErrorCode` does not list.
"""

from dataclasses import dataclass
from typing import ClassVar, Literal, TypeGuard, get_args

from certify_contract.records import RECORD_CONFIG

ErrorCode = Literal[
    # the request itself (HTTP only)
    "bad_request", "not_found", "method_not_allowed", "http_error", "missing_api_key",
    "invalid_api_key", "payload_too_large", "job_not_found", "no_workers", "redis_unavailable",
    "redis_full", "model_unavailable", "request_timeout", "incomplete_body",
    "client_closed_request", "request_in_progress", "tenant_queue_full", "tenant_rate_limited",
    # options, models and inputs (HTTP, jobs and the command line)
    "invalid_option", "unknown_model", "model_media_mismatch", "model_not_found",
    "model_load_failed", "invalid_input_shape", "dataset_error",
    # the upload's bytes
    "empty_file", "file_too_large", "unsupported_media_type", "unsupported_model_input",
    "image_too_large", "corrupt_image", "invalid_frame_policy", "corrupt_video",
    "truncated_video", "no_video_stream", "no_frames", "too_many_streams", "too_many_frames",
    "video_too_large", "video_too_long",
    # the sandboxed decoder
    "decoder_timeout", "decoder_out_of_memory", "decoder_crashed", "decoder_failed",
    # the job
    "canceled", "upload_expired", "upload_mismatch", "invalid_payload", "job_timeout",
    "worker_lost", "redis_interrupted", "internal_error", "job_lost",
    # the record store
    "invalid_cursor", "no_certificate", "records_unavailable",
    # batches and webhooks
    "batch_not_found", "batch_closed", "too_many_files", "invalid_archive", "invalid_labels",
    "invalid_callback_url",
    # the model registry
    "model_uploads_forbidden", "invalid_model_manifest", "unsupported_model_format",
    "pickled_model_refused", "model_format_mismatch", "corrupt_model_archive",
    "model_archive_bomb", "model_too_large", "model_version_exists", "model_name_taken",
    # release gates
    "gate_not_found", "invalid_gate", "no_report",
]
ERROR_CODES: frozenset[str] = frozenset(get_args(ErrorCode))


def is_error_code(text: object) -> TypeGuard[ErrorCode]:
    """True for a code this project defines (for codes that arrive as JSON text)."""
    return isinstance(text, str) and text in ERROR_CODES


@dataclass(frozen=True)
class ErrorBody:
    """The shape of every error: an HTTP error body, and a failed or canceled job's `error`."""

    __pydantic_config__: ClassVar[dict[str, object]] = RECORD_CONFIG

    error: ErrorCode
    """Stable snake_case code; every code is listed in docs/ERRORS.md."""
    detail: str
    """A human sentence saying what went wrong and, where it helps, what to change."""
    field: str | None = None
    """The request field the error is about (`file`, `model`, an option's name, ...), when it is
    about one: where a form shows the sentence."""


class CodedError(Exception):
    """An error that carries its code: raised anywhere, reported as one `ErrorBody`."""

    def __init__(self, code: ErrorCode, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.code: ErrorCode = code
        self.detail = detail
        self.field = field

    def body(self) -> ErrorBody:
        return ErrorBody(self.code, self.detail, self.field)


class CertifyError(CodedError):
    """A certification request the library refuses; each subclass names its code."""

    error_code: ClassVar[ErrorCode]

    def __init__(self, detail: str, field: str | None = None) -> None:
        super().__init__(self.error_code, detail, field)


class InvalidOptionError(CertifyError, ValueError):
    """An option, or a combination of options, outside what the certifier accepts."""

    error_code = "invalid_option"
