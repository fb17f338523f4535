"""Real processes for the service tests: redis-server, the API (uvicorn), workers."""

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from certify_cli.embedded import find_redis_server
from certify_cli.embedded import free_port as free_port  # the tests share the serve command's helper

REPO = Path(__file__).resolve().parents[1]
TERMINAL = ("succeeded", "failed", "canceled")


def service_env(redis_url: str, model_dir: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CERTIFY_")}
    env.update({
        "CERTIFY_REDIS_URL": redis_url,
        "CERTIFY_MODEL_DIR": str(model_dir),
        "CERTIFY_WORKER_MODELS": "test-cnn",
        "CERTIFY_DEFAULT_IMAGE_MODEL": "test-cnn",
        # Short liveness windows so a killed worker's job is noticed in seconds.
        "CERTIFY_HEARTBEAT_TTL_S": "3",
        "CERTIFY_WORKER_TTL_S": "16",
        "CERTIFY_MAINTENANCE_INTERVAL_S": "1",
        "CERTIFY_MAX_UPLOAD_BYTES": "100000",
        "PYTHONPATH": str(REPO),
        "OMP_NUM_THREADS": "1",
        # Records, uploads and keys of this service alone, never the user's data directory.
        "CERTIFY_DATA_DIR": tempfile.mkdtemp(prefix="certify-data-"),
    })
    env.update(extra)
    return env


def start(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("ab")
    try:
        return subprocess.Popen(argv, env=env, cwd=REPO, stdout=handle, stderr=subprocess.STDOUT)
    finally:
        handle.close()


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return start([sys.executable, "-m", "worker"], env, log)


def start_api(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    process = start([sys.executable, "-m", "app", "--port", str(port)], env, log)
    # 90 s: on a loaded 2-core machine the import alone has taken over 30 s beside starting workers
    wait_for(lambda: _answers(f"http://127.0.0.1:{port}/healthz"), 90, "API start", process)
    return process


@contextlib.contextmanager
def extra_api(service: dict[str, object], log: Path, **settings: str) -> Iterator[int]:
    """A second API process on the shared service's Redis and queue, with some settings
    changed (keys, timeouts, the queue); yields its port and stops it afterwards."""
    env = {**service["env"], **settings}  # type: ignore[dict-item]
    port = free_port()
    process = start_api(env, port, log)
    try:
        yield port
    finally:
        stop(process)


def start_redis(port: int, workdir: Path, *options: str) -> subprocess.Popen[bytes]:
    """A private redis-server; `options` (e.g. "--appendonly", "yes") override the defaults."""
    argv = [find_redis_server(), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(workdir), *options]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    wait_for(lambda: _redis_up(port), 10, "redis start", process)
    return process


def _redis_up(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def stop(process: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_for(
    condition: Any, timeout: float, what: str, process: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if process is not None and process.poll() is not None:
            raise AssertionError(f"{what}: process exited with {process.returncode}")
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def poll_job(client: httpx.Client, job_id: str, until: tuple[str, ...] = TERMINAL,
             timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        view: dict[str, Any] = client.get(f"/jobs/{job_id}").json()
        if view["status"] in until:
            return view
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {view['status']} after {timeout} s: {view}")
        time.sleep(0.1)


def start_delivery_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """The light webhook delivery worker (`python -m app.webhooks.worker`)."""
    return start([sys.executable, "-m", "app.webhooks.worker"], env, log)
