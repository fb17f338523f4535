"""Webhook receivers that misbehave, on 127.0.0.1: one that hangs, one that trickles.

A receiver that refuses needs no server: a free port with nothing listening.
"""

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from typing import Literal

Mode = Literal["hang", "trickle"]
HOLD_S = 60.0  # how long a bad receiver keeps a connection: longer than any deadline


class BadReceiver:
    """`hang`: reads the request and never answers. `trickle`: answers one byte every
    `interval_s`, so a per-read timeout never fires."""

    def __init__(self, mode: Mode, interval_s: float = 0.2) -> None:
        self.mode, self.interval_s = mode, interval_s
        self.accepted = 0
        self.on_request: Callable[[bytes], None] | None = None  # sees each request's head
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def _serve(self) -> None:
        self._listener.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        # Long enough that, a byte at a time, it never completes while the connection is held.
        answer = b"HTTP/1.1 200 OK\r\nX-Pad: " + b"a" * 4000 + b"\r\nContent-Length: 2\r\n\r\nok"
        deadline = time.monotonic() + HOLD_S
        with conn, contextlib.suppress(OSError):
            head = conn.recv(65536)
            if self.on_request is not None:
                self.on_request(head)
            for byte in answer if self.mode == "trickle" else b"":
                if self._stop.wait(self.interval_s) or time.monotonic() > deadline:
                    return
                conn.sendall(bytes([byte]))
            self._stop.wait(max(deadline - time.monotonic(), 0))

    def stop(self) -> None:
        self._stop.set()
        self._listener.close()


def refusing_url() -> str:
    """A loopback URL where nothing listens: every connection is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"
