"""Decoder targets for the sandbox tests: misbehaving ones, and one that shows its environment."""

import ctypes
import errno
import os
import pathlib
import socket
import time
from typing import Any

import numpy as np


def echo(data: bytes, params: dict[str, Any]) -> tuple[dict[str, Any], np.ndarray]:
    return {"length": len(data), "params": params}, np.frombuffer(data, np.uint8).astype(np.float32)


def segfault(data: bytes, params: dict[str, Any]) -> tuple[dict[str, Any], np.ndarray]:
    ctypes.string_at(0)  # reads address 0: SIGSEGV, as a crashing C decoder would
    raise AssertionError("unreachable")


def hang(data: bytes, params: dict[str, Any]) -> tuple[dict[str, Any], np.ndarray]:
    time.sleep(600)
    raise AssertionError("unreachable")


def spin(data: bytes, params: dict[str, Any]) -> tuple[dict[str, Any], np.ndarray]:
    while True:
        pass


def allocate(data: bytes, params: dict[str, Any]) -> tuple[dict[str, Any], np.ndarray]:
    blocks = [np.ones(1 << 27, np.uint8) for _ in range(64)]  # 8 GiB, page by page
    return {}, np.asarray(blocks[0][:1], np.float32)


def broken(data: bytes, params: dict[str, Any]) -> tuple[dict[str, Any], np.ndarray]:
    raise RuntimeError("a decoder bug")


def environment(data: bytes, params: dict[str, Any]) -> tuple[dict[str, Any], np.ndarray]:
    """What a decoder child sees of its environment."""
    return {"environ": dict(os.environ)}, np.zeros(1, np.float32)


def _attempt(action: Any) -> str:
    try:
        action()
    except OSError as exc:
        return errno.errorcode.get(exc.errno or 0, type(exc).__name__)
    return "allowed"


def _open_socket(family: int, kind: int = socket.SOCK_STREAM) -> None:
    socket.socket(family, kind).close()


def confinement(data: bytes, params: dict[str, Any]) -> tuple[dict[str, Any], np.ndarray]:
    """What a decoder child may do: read its worker's environment, open sockets, gain privileges."""
    status = dict(line.split(":", 1) for line in
                  pathlib.Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return {
        "read_worker_environ": _attempt(
            lambda: pathlib.Path(f"/proc/{params['worker_pid']}/environ").read_bytes()),
        "socket_inet": _attempt(lambda: _open_socket(socket.AF_INET)),
        "socket_inet6": _attempt(lambda: _open_socket(socket.AF_INET6)),
        "socket_unix": _attempt(lambda: _open_socket(socket.AF_UNIX)),
        "socket_udp": _attempt(lambda: _open_socket(socket.AF_INET, socket.SOCK_DGRAM)),
        "socketpair": _attempt(socket.socketpair),
        "no_new_privs": status.get("NoNewPrivs", "").strip(),
        "seccomp": status.get("Seccomp", "").strip(),
        "uid": os.getuid(),
    }, np.zeros(1, np.float32)
