"""The batch half of `CertifyClient`: create, add, close, status, results, cancel, wait, list."""

import json
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import httpx

from certify_client.errors import ApiError
from certify_client.forms import FileSpec, file_parts, form_fields
from certify_client.records import read_answer
from certify_client.transport import PollPolicy, RetryPolicy, poll_until_ended, send_with_retries
from certify_contract import BatchItem, BatchItemPage, BatchList, BatchView, CertifyOptions

T = TypeVar("T")
BatchProgressHook = Callable[[BatchView], None]


class BatchMethods:
    """Mixed into `CertifyClient`; relies on its `_http`, `_json`, `_read` and `poll`."""

    _http: httpx.Client
    poll: PollPolicy
    retry: RetryPolicy

    def _json(self, request: httpx.Request) -> Any:  # provided by CertifyClient
        raise NotImplementedError

    def _read(self, kind: type[T], method: str, url: str, **kwargs: Any) -> T:
        raise NotImplementedError

    def create_batch(
        self, files: Sequence[FileSpec] = (), *, labels: Mapping[str, int | str] | None = None,
        model: str | None = None, options: Mapping[str, object] | CertifyOptions | None = None,
        open: bool = False, callback_url: str | None = None, idempotency_key: str | None = None,
    ) -> BatchView:
        """Queue one job per file (paths, `(name, bytes)` pairs, or one tar/zip archive).

        `open=True` keeps the batch open for `add_files` until `close_batch`.
        Retried on 502/503/504 with one Idempotency-Key, so never created twice.
        """
        fields = form_fields(options)
        fields.update({k: v for k, v in {"model": model, "callback_url": callback_url,
                                         "labels": json.dumps(labels) if labels else None,
                                         "open": "true" if open else None}.items() if v})
        return self._post_files("/batches", files, fields, idempotency_key)

    def add_files(self, batch_id: str, files: Sequence[FileSpec], *,
                  labels: Mapping[str, int | str] | None = None,
                  idempotency_key: str | None = None) -> BatchView:
        fields = {"labels": json.dumps(labels)} if labels else {}
        return self._post_files(f"/batches/{batch_id}/files", files, fields, idempotency_key)

    def _post_files(self, url: str, files: Sequence[FileSpec], fields: dict[str, str],
                    idempotency_key: str | None) -> BatchView:
        headers = {"Idempotency-Key": idempotency_key or uuid.uuid4().hex}
        request = self._http.build_request("POST", url, data=fields,
                                           files=file_parts(files) or None, headers=headers)
        return read_answer(BatchView, self._json(request), url)

    def close_batch(self, batch_id: str) -> BatchView:
        return self._read(BatchView, "POST", f"/batches/{batch_id}/close")

    def batch(self, batch_id: str) -> BatchView:
        """Counts by status, progress and (with labels) the metrics so far."""
        return self._read(BatchView, "GET", f"/batches/{batch_id}")

    def cancel_batch(self, batch_id: str) -> BatchView:
        return self._read(BatchView, "DELETE", f"/batches/{batch_id}")

    def batches(self, *, offset: int = 0, limit: int = 20) -> BatchList:
        return self._read(BatchList, "GET", "/batches", params={"offset": offset, "limit": limit})

    def batch_items(self, batch_id: str, *, page_size: int = 200) -> Iterator[BatchItem]:
        """Every file of the batch in order, with its job's view (certificate included)."""
        offset: int | None = 0
        while offset is not None:
            page = self._read(BatchItemPage, "GET", f"/batches/{batch_id}/jobs",
                              params={"offset": offset, "limit": page_size})
            yield from page.items
            offset = page.next_offset

    def batch_results_tsv(self, batch_id: str) -> str:
        """`idx name label predict radius correct time`, one row per succeeded job."""
        request = self._http.build_request("GET", f"/batches/{batch_id}/results.tsv")
        response = send_with_retries(self._http, request, self.retry, None)
        if response.status_code >= 400:
            body = response.json() if response.headers.get("content-type", "").startswith(
                "application/json") else {}
            raise ApiError(response.status_code, str(body.get("error", "http_error")),
                           str(body.get("detail", response.reason_phrase)))
        return response.text

    def wait_batch(self, batch_id: str, *, timeout_s: float | None = None,
                   on_progress: BatchProgressHook | None = None) -> BatchView:
        """Poll (backing off as `poll` says) until every job of the closed batch has ended."""
        return poll_until_ended(self.poll, lambda: self.batch(batch_id), batch_id, timeout_s,
                                on_progress)
