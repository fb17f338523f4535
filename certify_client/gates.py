"""The release-gate half of `CertifyClient`: start, read, cancel, wait, list."""

import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import httpx

from certify_client.forms import FileSpec, file_parts, form_fields
from certify_client.records import read_answer
from certify_client.transport import PollPolicy, poll_until_ended
from certify_contract import CertifyOptions, GateList, GateView

T = TypeVar("T")
GateProgressHook = Callable[[GateView], None]


class GateMethods:
    """Mixed into `CertifyClient`; relies on its `_http`, `_json`, `_read` and `poll`."""

    _http: httpx.Client
    poll: PollPolicy

    def _json(self, request: httpx.Request) -> Any:  # provided by CertifyClient
        raise NotImplementedError

    def _read(self, kind: type[T], method: str, url: str, **kwargs: Any) -> T:
        raise NotImplementedError

    def create_gate(
        self, files: Sequence[FileSpec], *, labels: Mapping[str, int | str] | str,
        radius: float, min_accuracy: float, confidence: float = 0.99, model: str | None = None,
        options: Mapping[str, object] | CertifyOptions | None = None,
        callback_url: str | None = None, idempotency_key: str | None = None,
    ) -> GateView:
        """Start a gate over labelled images (paths, `(name, bytes)` pairs, or one tar/zip
        archive); `labels` maps names to classes, or is `"folders"`. Retries carry the same
        `Idempotency-Key` (given, else a fresh one), so a retried request answers with the
        first one's gate instead of starting a second (with its own image order)."""
        fields = form_fields(options)
        fields.update({"radius": repr(radius), "min_accuracy": repr(min_accuracy),
                       "confidence": repr(confidence),
                       "labels": labels if isinstance(labels, str) else json.dumps(labels)})
        fields.update({k: v for k, v in {"model": model, "callback_url": callback_url}.items() if v})
        headers = {"Idempotency-Key": idempotency_key or uuid.uuid4().hex}
        request = self._http.build_request("POST", "/gates", data=fields, files=file_parts(files),
                                           headers=headers)
        return read_answer(GateView, self._json(request), "/gates")

    def gate(self, gate_id: str) -> GateView:
        """Progress per look, images and passes used, and the verdict once ended."""
        return self._read(GateView, "GET", f"/gates/{gate_id}")

    def cancel_gate(self, gate_id: str) -> GateView:
        return self._read(GateView, "DELETE", f"/gates/{gate_id}")

    def gates(self, *, offset: int = 0, limit: int = 20) -> GateList:
        return self._read(GateList, "GET", "/gates", params={"offset": offset, "limit": limit})

    def wait_gate(self, gate_id: str, *, timeout_s: float | None = None,
                  on_progress: GateProgressHook | None = None) -> GateView:
        """Poll (backing off as `poll` says) until the gate has its verdict or is canceled."""
        return poll_until_ended(self.poll, lambda: self.gate(gate_id), gate_id, timeout_s,
                                on_progress)
