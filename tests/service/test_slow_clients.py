"""Slow or cut-short requests cannot hold a connection: raw sockets against a real server."""

import contextlib
import re
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from certify_testkit.processes import extra_api

pytestmark = pytest.mark.integration
TIMEOUT_S = 1.0
# Generous against a loaded CI machine, still far below "indefinitely".
CLOSED_WITHIN_S = TIMEOUT_S + 4.0
STRICT_LOG = "strict-api.log"


@pytest.fixture(scope="module")
def strict_api(service: dict[str, object], logs: Path) -> Iterator[int]:
    with extra_api(service, logs / STRICT_LOG,
                   CERTIFY_REQUEST_HEADER_TIMEOUT_S=str(TIMEOUT_S),
                   CERTIFY_REQUEST_BODY_TIMEOUT_S=str(TIMEOUT_S)) as port:
        yield port


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=CLOSED_WITHIN_S)


def drip(conn: socket.socket, slowly: bytes) -> tuple[bytes, float]:
    """Send `slowly` one byte every 0.2 s until the server answers; what it sent until it
    closed the connection, and when it closed it (seconds)."""
    start = time.monotonic()
    for byte in slowly:
        if select.select([conn], [], [], 0.2)[0]:  # an answer, or the close
            break
        try:
            conn.sendall(bytes([byte]))
        except OSError:  # closed: what the server said is still readable
            break
    answer = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := conn.recv(65536):  # a server that never closes fails with TimeoutError
            answer += chunk
    return answer, time.monotonic() - start


def test_headers_sent_one_byte_at_a_time_get_408_and_a_close(strict_api: int) -> None:
    with connect(strict_api) as conn:
        answer, seconds = drip(conn, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200)
    assert answer.startswith(b"HTTP/1.1 408") and b'"request_timeout"' in answer, answer
    assert TIMEOUT_S * 0.9 <= seconds < CLOSED_WITHIN_S


def test_a_silent_connection_is_closed(strict_api: int) -> None:
    with connect(strict_api) as conn:
        answer, seconds = drip(conn, b"")
    assert answer.startswith(b"HTTP/1.1 408") and seconds < CLOSED_WITHIN_S


def test_a_kept_alive_connection_gets_the_same_bound_for_its_next_request(strict_api: int) -> None:
    with connect(strict_api) as conn:
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        first = conn.recv(65536)
        while not first.endswith(b"}"):  # the JSON body may come in a second segment
            first += conn.recv(65536)
        assert first.startswith(b"HTTP/1.1 200"), first
        answer, seconds = drip(conn, b"GET /healthz HTTP/1.1\r\nX-Slow: " + b"a" * 200)
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert seconds < CLOSED_WITHIN_S


def test_a_body_sent_one_byte_at_a_time_gets_408(strict_api: int) -> None:
    with connect(strict_api) as conn:
        conn.sendall(b"POST /certify HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n"
                     b"Content-Type: multipart/form-data; boundary=b\r\n\r\n")
        answer, seconds = drip(conn, b"--b\r\n" + b"a" * 400)
    assert answer.startswith(b"HTTP/1.1 408") and b'"request_timeout"' in answer, answer
    assert seconds < CLOSED_WITHIN_S


def test_a_multipart_body_cut_before_its_closing_boundary_is_refused(
    strict_api: int, sample_png: bytes
) -> None:
    fields = (b'--b\r\nContent-Disposition: form-data; name="n"\r\n\r\n100\r\n'
              b'--b\r\nContent-Disposition: form-data; name="file"; filename="x.png"\r\n'
              b"Content-Type: image/png\r\n\r\n" + sample_png + b"\r\n"
              b'--b\r\nContent-Disposition: form-data; name="n0"\r\n\r\n10')
    headers = {"Content-Type": "multipart/form-data; boundary=b"}
    with httpx.Client(base_url=f"http://127.0.0.1:{strict_api}") as client:
        for cut in (fields, fields + b"\r\n--b", fields[:-3]):
            answer = client.post("/certify", content=cut, headers=headers)
            assert answer.status_code == 400, answer.text
            assert answer.json()["error"] == "incomplete_body"
        whole = client.post("/certify", content=fields + b"\r\n--b--\r\n", headers=headers)
        assert whole.status_code == 202, whole.text


def _counted(port: int, route: str) -> dict[str, float]:
    """`certify_api_requests_total` of POST `route`, by status."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    found = re.findall(rf'certify_api_requests_total\{{method="POST",route="{route}",'
                       r'status="([^"]+)"\} ([0-9.e+]+)', text)
    return {status: float(value) for status, value in found}


@pytest.mark.parametrize("route", ["/certify", "/batches"])
def test_a_client_gone_mid_upload_is_counted_as_499_not_as_a_server_error(
    strict_api: int, logs: Path, route: str
) -> None:
    before = _counted(strict_api, route)
    log_start = (logs / STRICT_LOG).stat().st_size
    for _ in range(3):
        with connect(strict_api) as conn:
            conn.sendall(f"POST {route} HTTP/1.1\r\nHost: x\r\nContent-Length: 50000\r\n"
                         "Content-Type: multipart/form-data; boundary=b\r\n\r\n".encode()
                         + b'--b\r\nContent-Disposition: form-data; name="file"; '
                         b'filename="x.png"\r\n\r\n' + b"a" * 2000)
            time.sleep(0.2)  # the app is reading the body when the client goes
    deadline = time.monotonic() + CLOSED_WITHIN_S
    while _counted(strict_api, route).get("499", 0) - before.get("499", 0) < 3:
        assert time.monotonic() < deadline, _counted(strict_api, route)
        time.sleep(0.1)
    after = _counted(strict_api, route)
    assert after.get("500", 0) == before.get("500", 0), after
    logged = (logs / STRICT_LOG).read_bytes()[log_start:].decode(errors="replace")
    assert "Traceback" not in logged and '"level": "error"' not in logged, logged[-3000:]
