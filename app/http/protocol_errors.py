"""Requests that are not HTTP/1.1 at all answer in the service's error shape too.

uvicorn's parsers (httptools, or h11) reject a malformed request (`Content-Length:
abc`, a control byte in a header, an unknown method such as `FOO`, a header
value that is not Latin-1) before any application code runs, with a
`text/plain` "Invalid HTTP request received.". The mixin below replaces that one
answer with `400 {"error": "bad_request", "detail": ...}` and still closes the
connection, since the parser cannot tell where the next request would begin.
"""

import asyncio
import json

DETAIL = ("The request is not valid HTTP/1.1 (a malformed request line, header or "
          "Content-Length); the connection is closed.")


def protocol_error_answer() -> bytes:
    body = json.dumps({"error": "bad_request", "detail": DETAIL}).encode()
    return (b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\n"
            b"connection: close\r\ncontent-length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


class JsonProtocolErrors:
    """Mixin for uvicorn's HTTP protocols (both answer a parser error via `send_400_response`)."""

    transport: asyncio.Transport

    def send_400_response(self, msg: str) -> None:
        if not self.transport.is_closing():
            self.transport.write(protocol_error_answer())
            self.transport.close()
