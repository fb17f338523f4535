"""Bounds on slow clients: request headers and bodies must arrive within a deadline.

Uvicorn's `timeout_keep_alive` covers only idle connections between requests;
a client that sends one header byte a second, or one body byte a second,
otherwise holds its connection (and, for a body, a request task) forever.

- `HeaderDeadline`: uvicorn's HTTP protocol (httptools or h11) with a timer from
  the first byte of a request (or the connection's opening) until its headers
  are complete; on expiry it answers 408 and closes the connection.
- `BodyDeadline`: ASGI middleware that gives the whole request body a deadline
  and requires a multipart body to end with its closing boundary, so a body cut
  short is refused rather than parsed with its last field at the default.
"""

import asyncio
import json
import re
from functools import cache
from typing import Any, ClassVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from app.http.errors import ApiError
from app.http.protocol_errors import JsonProtocolErrors
from certify_settings import load_settings

BOUNDARY = re.compile(rb'boundary="?([^";,]+)"?', re.IGNORECASE)


class RequestTimeout(ApiError):
    def __init__(self, seconds: float, what: str) -> None:
        super().__init__(408, "request_timeout", f"The request {what} did not arrive within "
                         f"{seconds:g} s.")
        self.headers = {"Connection": "close"}


class IncompleteBody(ApiError):
    def __init__(self) -> None:
        super().__init__(400, "incomplete_body", "The multipart body ends before its closing "
                         "boundary: the upload was cut short; send it again.")
        self.headers = {"Connection": "close"}


@cache
def _configured_header_timeout() -> float:
    # Processes started by `uvicorn --workers` import this class afresh: read the setting once.
    return load_settings().request_header_timeout_s


def _timeout_answer(seconds: float) -> bytes:
    error = RequestTimeout(seconds, "headers")
    body = json.dumps({"error": error.code, "detail": error.detail}).encode()
    return (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
            b"connection: close\r\ncontent-length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


class HeaderDeadline:
    """Mixin for uvicorn's HTTP protocols; both keep the request in flight as `self.cycle`."""

    header_timeout_s: ClassVar[float | None] = None
    cycle: Any
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._start_header_timer()

    def data_received(self, data: bytes) -> None:
        if self.cycle is None or self.cycle.response_complete:
            self._start_header_timer()  # a new request's headers begin
        super().data_received(data)  # type: ignore[misc]
        if self.cycle is not None and not self.cycle.response_complete:
            self._stop_header_timer()  # its headers are complete: the app has it

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_header_timer()
        super().connection_lost(exc)  # type: ignore[misc]

    def _start_header_timer(self) -> None:
        if self._header_timer is None:
            seconds = self.header_timeout_s or _configured_header_timeout()
            self._header_timer = self.loop.call_later(seconds, self._headers_too_slow, seconds)

    def _stop_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self, seconds: float) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.write(_timeout_answer(seconds))
            self.transport.close()


# Parser rejections answer JSON too (`app.http.protocol_errors`).
class H11WithHeaderDeadline(JsonProtocolErrors, HeaderDeadline, H11Protocol):
    pass


try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class HttpToolsWithHeaderDeadline(JsonProtocolErrors, HeaderDeadline, HttpToolsProtocol):
        pass

    GUARDED_PROTOCOL: type[asyncio.Protocol] = HttpToolsWithHeaderDeadline
except ImportError:  # httptools is optional to uvicorn: h11 then parses
    GUARDED_PROTOCOL = H11WithHeaderDeadline


class BodyDeadline:
    def __init__(self, app: ASGIApp, body_timeout_s: float) -> None:
        self.app = app
        self.body_timeout_s = body_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        content_type = dict(scope["headers"]).get(b"content-type", b"")
        found = BOUNDARY.search(content_type) if content_type.startswith(b"multipart/") else None
        # The close delimiter (RFC 2046): CRLF, two dashes, the boundary, two dashes.
        closing = b"\r\n--" + found.group(1) + b"--" if found else None
        await self.app(scope, self._guarded(receive, closing), send)

    def _guarded(self, receive: Receive, closing: bytes | None) -> Receive:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.body_timeout_s
        # A body of no parts is the delimiter alone: as if a line break came before it.
        tail, complete, closed = b"\r\n", False, closing is None

        async def guarded() -> Message:
            nonlocal tail, complete, closed
            if complete:  # the body is in: later receives wait for a disconnect, unbounded
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise RequestTimeout(self.body_timeout_s, "body") from None
            if message["type"] != "http.request":
                return message
            if not closed and closing is not None:
                # The delimiter may straddle two chunks: keep just enough of the last one.
                window = tail + message.get("body", b"")
                closed = closing in window
                tail = window[1 - len(closing):]
            if not message.get("more_body", False):
                complete = True
                if not closed:
                    raise IncompleteBody()
            return message

        return guarded
