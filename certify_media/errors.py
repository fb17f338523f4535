"""Media errors carry a stable code, like the library's errors."""


class MediaError(Exception):
    """An upload that cannot be decoded; `code` is snake_case, `detail` a sentence."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
