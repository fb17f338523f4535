"""`certify serve` for the browser tests: API keys on, its own Redis, two small models."""

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from certify_testkit.model_fixture import TEST_VIDEO_MODEL, write_test_model, write_test_video_model
from certify_testkit.processes import REPO, free_port, service_env, wait_for

API_KEY = "dashboard-test-key"
# An operator's key: it may register models (CERTIFY_MODEL_UPLOADS=admin, the default).
ADMIN_KEY = "dashboard-admin-key"
HTML_MODEL = "html-classes"
# Each would run a script or add elements if a page inserted it as markup.
HTML_CLASS_NAMES = tuple(
    f'<img src=x onerror="window.__injected={i}"><b>class {i}</b>' if i % 2
    else f"<script>window.__injected={i}</script><i>class {i}</i>"
    for i in range(10)
)


@dataclass(frozen=True)
class Served:
    url: str
    key: str
    env: dict[str, str]
    log: Path

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"X-API-Key": self.key}, timeout=30.0)


def write_models(root: Path) -> Path:
    """`test-cnn`, `html-classes` (the same random weights under HTML class names) and
    `test-video`."""
    write_test_model(root)
    write_test_video_model(root)
    return write_test_model(root, HTML_MODEL, HTML_CLASS_NAMES)


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


TEST_MODELS = {"CERTIFY_WORKER_MODELS": f"test-cnn,{HTML_MODEL},{TEST_VIDEO_MODEL}",
               "CERTIFY_DEFAULT_VIDEO_MODEL": TEST_VIDEO_MODEL}


@contextmanager
def running_serve(models: Path, log: Path, served: dict[str, str] | None = None) -> Iterator[Served]:
    """`certify serve` with the test models, or with `served` (settings naming others)."""
    env = service_env("unused", models, **(served or TEST_MODELS), CERTIFY_API_KEYS=API_KEY,
                      CERTIFY_ADMIN_API_KEYS=ADMIN_KEY, CERTIFY_LOG_FORMAT="text")
    del env["CERTIFY_REDIS_URL"]  # `certify serve` starts its own, as `make run` does
    port = free_port()
    with log.open("wb") as out:
        # Its own process group, as a shell gives a foreground command; Ctrl-C stops it.
        serve = subprocess.Popen([sys.executable, "-m", "certify_cli.main", "serve", "--port",
                                  str(port)], env=env, cwd=REPO, stdout=out, stderr=out,
                                 start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _ready(url), 120, "certify serve ready", serve)
        yield Served(url, API_KEY, env, log)
    finally:
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGINT)
        try:
            serve.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(serve.pid, signal.SIGKILL)
            serve.wait()
