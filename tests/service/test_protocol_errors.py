"""Requests uvicorn's parser rejects answer 400 in the {"error", "detail"} shape (raw sockets)."""

import json
import socket
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.integration

MALFORMED = {
    "content-length not a number": b"POST /certify HTTP/1.1\r\nHost: t\r\nContent-Length: abc\r\n\r\n",
    "control byte in a header": b"GET /jobs HTTP/1.1\r\nHost: t\r\nX-Note: a\x01b\r\n\r\n",
    "unknown method": b"FOO /jobs HTTP/1.1\r\nHost: t\r\n\r\n",
    "NUL byte in If-None-Match":
        b'GET /jobs HTTP/1.1\r\nHost: t\r\nIf-None-Match: "\xe2\x82\xac\x00"\r\n\r\n',
    "space in a header name": b"GET /jobs HTTP/1.1\r\nHost: t\r\nBad Name: x\r\n\r\n",
}


def _exchange(url: str, request: bytes) -> tuple[str, dict[str, str], bytes]:
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as conn:
        conn.sendall(request)
        answer = b""
        while chunk := conn.recv(65536):  # the server closes the connection after its answer
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, value in
               (line.split(":", 1) for line in lines)}
    return status, headers, body


@pytest.mark.parametrize("request_bytes", MALFORMED.values(), ids=MALFORMED.keys())
def test_parser_rejections_answer_the_error_shape(
    service: dict[str, object], request_bytes: bytes
) -> None:
    status, headers, body = _exchange(str(service["url"]), request_bytes)
    assert status.startswith("HTTP/1.1 400"), (status, body)
    assert headers["content-type"] == "application/json" and headers["connection"] == "close"
    assert int(headers["content-length"]) == len(body)
    error = json.loads(body)
    assert error["error"] == "bad_request" and error["detail"], error


def test_what_the_parser_accepts_reaches_the_app(service: dict[str, object]) -> None:
    """A UTF-8 (not Latin-1) If-None-Match passes the parser: the app answers, in JSON."""
    request = 'GET /jobs HTTP/1.1\r\nHost: t\r\nIf-None-Match: "\u20ac"\r\nConnection: close\r\n\r\n'
    status, headers, body = _exchange(str(service["url"]), request.encode("utf-8"))
    assert status.startswith("HTTP/1.1 200"), (status, body)
    assert headers["content-type"] == "application/json" and "jobs" in json.loads(body)
