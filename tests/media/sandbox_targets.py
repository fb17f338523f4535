"""Decoder targets for the sandbox tests: misbehaving ones, and one that shows its environment."""

import ctypes
import os
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
