"""A webhook receiver on 127.0.0.1 for the tests: records every request, answers as told."""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from certify_client import WebhookSignatureError, verify_webhook


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    at: float


@dataclass
class Behaviour:
    """How the receiver answers the n-th request (0-based): status, delay, extra headers."""

    answer: Callable[[int], tuple[int, float, dict[str, str]]] = lambda _: (200, 0.0, {})


@dataclass
class Receiver:
    port: int
    secret: str
    behaviour: Behaviour = field(default_factory=Behaviour)
    received: list[Received] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> "Receiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {k: v for k, v in self.headers.items()}
                try:
                    verify_webhook(receiver.secret, headers, body)
                    verified = True
                except WebhookSignatureError:
                    verified = False
                index = len(receiver.received)
                receiver.received.append(Received(self.path, headers, body, verified, time.time()))
                status, delay, extra = receiver.behaviour.answer(index)
                time.sleep(delay)
                try:
                    self.send_response(status)
                    for key, value in extra.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:  # the sender gave up (timeout) and closed the connection
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def wait_for(self, count: int, timeout: float) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.received
