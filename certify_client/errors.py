"""What the client raises: the API's coded errors, and failures to reach it."""

from certify_contract.errors import CodedError, ErrorCode, is_error_code


class ClientError(Exception):
    """Base of every error the client raises itself."""


class ApiError(CodedError, ClientError):
    """The API answered with an error body (`ErrorBody`: any 4xx, or 5xx after retries).

    `code` is one of `certify_contract.ErrorCode`; a code this client does not
    know (a newer server) reads as `http_error`, with the server's own word in
    `server_code`. `field` names the request field the error is about, if any.
    """

    def __init__(self, status_code: int, server_code: str, detail: str,
                 field: str | None = None) -> None:
        code: ErrorCode = server_code if is_error_code(server_code) else "http_error"
        super().__init__(code, detail, field)
        self.status_code = status_code
        self.server_code = server_code

    def __str__(self) -> str:
        return f"{self.status_code} {self.server_code}: {self.detail}"


class ServiceUnreachable(ClientError):
    """No answer from the API after every retry (connection refused, timeouts, ...)."""


class WaitTimeout(ClientError):
    """A job did not end within the time `wait` was given."""

    def __init__(self, job_id: str, timeout_s: float, status: str) -> None:
        super().__init__(f"Job {job_id} is still {status} after {timeout_s:g} s.")
        self.job_id = job_id
        self.status = status
