"""`CertifyClient`: submit, wait, status, cancel and list jobs (and batches) of the API."""

import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import httpx

from certify_client.batches import BatchMethods
from certify_client.errors import ApiError
from certify_client.forms import form_fields
from certify_client.gates import GateMethods
from certify_client.records import read_answer
from certify_client.transport import (
    PollPolicy,
    RetryHook,
    RetryPolicy,
    poll_until_ended,
    send_with_retries,
)
from certify_contract import (
    CertifyOptions,
    JobEstimate,
    JobPage,
    JobStatus,
    JobView,
    MediaKind,
    ModelList,
    SubmittedJob,
)

T = TypeVar("T")
DEFAULT_URL = "http://127.0.0.1:8000"
ProgressHook = Callable[[JobView], None]


class CertifyClient(BatchMethods, GateMethods):
    """A synchronous client; use it as a context manager, or call `close()`.

    `on_retry(attempt, request, answer_or_error)` is called before each retry.
    """

    def __init__(
        self, base_url: str = DEFAULT_URL, api_key: str | None = None, *, timeout_s: float = 30.0,
        retry: RetryPolicy | None = None, poll: PollPolicy | None = None,
        on_retry: RetryHook | None = None,
    ) -> None:
        headers = {"X-API-Key": api_key} if api_key else {}
        self._http = httpx.Client(base_url=base_url, headers=headers, timeout=timeout_s)
        self.retry = retry or RetryPolicy()
        self.poll = poll or PollPolicy()
        self.on_retry = on_retry

    def __enter__(self) -> "CertifyClient":
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- jobs -----------------------------------------------------------------
    def submit(
        self, file: str | Path | bytes, *, filename: str | None = None, model: str | None = None,
        options: Mapping[str, object] | CertifyOptions | None = None,
        idempotency_key: str | None = None, callback_url: str | None = None,
    ) -> SubmittedJob:
        """Upload an image or video; answers at once with the queued job.

        Without `idempotency_key` a fresh one is made, so that retries of this
        call (after a 503 or a lost connection) cannot create a second job.
        """
        if isinstance(file, bytes):
            data, name = file, filename or "upload"
        else:
            data, name = Path(file).read_bytes(), filename or Path(file).name
        fields = form_fields(options)
        if model is not None:
            fields["model"] = model
        if callback_url is not None:
            fields["callback_url"] = callback_url
        key = idempotency_key or uuid.uuid4().hex
        request = self._http.build_request(
            "POST", "/certify", data=fields, files={"file": (name, data)},
            headers={"Idempotency-Key": key})
        return read_answer(SubmittedJob, self._json(request), "/certify")

    def job(self, job_id: str) -> JobView:
        """The job's status, progress, and certificate or error."""
        return self._read(JobView, "GET", f"/jobs/{job_id}")

    def cancel(self, job_id: str) -> JobView:
        """A queued job never runs; a running one stops within one batch."""
        return self._read(JobView, "DELETE", f"/jobs/{job_id}")

    def jobs(self, *, status: JobStatus | None = None, offset: int = 0, limit: int = 50) -> JobPage:
        """One page of this key's jobs, newest first."""
        params: dict[str, str | int] = {"offset": offset, "limit": limit}
        if status is not None:
            params["status"] = status
        return self._read(JobPage, "GET", "/jobs", params=params)

    def wait(
        self, job_id: str, *, timeout_s: float | None = None, on_progress: ProgressHook | None = None,
    ) -> JobView:
        """Poll until the job succeeded, failed or was canceled (backing off as `poll` says).

        `on_progress(view)` sees every poll's answer, the last one included.
        Raises `WaitTimeout` when `timeout_s` passes first.
        """
        return poll_until_ended(self.poll, lambda: self.job(job_id), job_id, timeout_s,
                                on_progress)

    def models(self) -> ModelList:
        """The models live workers serve (with their manifests), and the defaults."""
        return self._read(ModelList, "GET", "/models")

    def estimate(
        self, options: Mapping[str, object] | CertifyOptions | None = None, *,
        model: str | None = None, media: MediaKind = "image",
    ) -> JobEstimate:
        """The passes a job with these options would run and, at the model's measured passes
        per second, how long it would sample (`seconds_max` is None before any measurement).
        Without `model`, the default model for `media`."""
        params = {**form_fields(options), "media": media}
        if model is not None:
            params["model"] = model
        return self._read(JobEstimate, "GET", "/estimate", params=params)

    # -- plumbing ---------------------------------------------------------------
    def _read(self, kind: type[T], method: str, url: str, **kwargs: Any) -> T:
        return read_answer(kind, self._json(self._http.build_request(method, url, **kwargs)), url)

    def _json(self, request: httpx.Request) -> Any:
        request.read()  # buffered, so that every retry sends the same bytes
        response = send_with_retries(self._http, request, self.retry, self.on_retry)
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 400:
            error = body if isinstance(body, dict) else {}
            field = error.get("field")
            raise ApiError(response.status_code, str(error.get("error", "http_error")),
                           str(error.get("detail", response.text[:200] or response.reason_phrase)),
                           field if isinstance(field, str) else None)
        if body is None:
            raise ApiError(response.status_code, "http_error", f"{request.url} answered no JSON.")
        return body

