"""Media errors carry a stable code, like every error of the project."""

from certify_contract.errors import CodedError


class MediaError(CodedError):
    """An upload that cannot be decoded: `MediaError(code, detail)`."""
