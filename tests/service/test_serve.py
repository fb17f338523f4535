"""`certify serve`: private Redis, one worker and the API in one command; Ctrl-C stops all.

Ctrl-C is sent as a terminal sends it, SIGINT to the whole foreground process
group, so every child (and the worker's decoder) receives it too: they must
all end, without a traceback, and the text logs must have named each job and
the failed job's error code. The private Redis is the exception: it sits in a
group of its own and is stopped last, so that every worker can still
unregister from it.
"""

import io
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from certify_testkit.processes import REPO, free_port, poll_job, service_env, wait_for

pytestmark = pytest.mark.integration


def descendants(pid: int) -> list[int]:
    listed = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True,
                            text=True, check=False).stdout.split()
    children = [int(p) for p in listed]
    return children + [grandchild for child in children for grandchild in descendants(child)]


def _alive(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    try:
        return "zombie" not in status.read_text()
    except OSError:
        return False


def truncated_png() -> bytes:
    buffer = io.BytesIO()
    pixels = np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8)
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()[:2000]


def test_serve_runs_everything_and_ctrl_c_stops_it_cleanly(
    model_dir: Path, logs: Path, sample_png: bytes
) -> None:
    env = service_env("unused", model_dir, CERTIFY_LOG_FORMAT="text")
    del env["CERTIFY_REDIS_URL"]
    port = free_port()
    log_path = logs / "serve.log"
    with log_path.open("wb") as log:
        # Its own process group, as a shell gives a foreground command.
        serve = subprocess.Popen([sys.executable, "-m", "certify_cli.main", "serve", "--port",
                                  str(port)], env=env, cwd=REPO, stdout=log, stderr=log,
                                 start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            try:
                return httpx.get(f"{url}/readyz").status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(ready, 90, "certify serve ready", serve)
        children = descendants(serve.pid)
        assert len(children) >= 4  # redis-server, worker, API, the worker's decoder
        own_groups = [pid for pid in children if os.getpgid(pid) != serve.pid]
        assert len(own_groups) == 1 and "redis-server" in Path(f"/proc/{own_groups[0]}/cmdline") \
            .read_text()
        with httpx.Client(base_url=url) as client:
            good = client.post("/certify", files={"file": ("a.png", sample_png)},
                               data={"n": "100", "n0": "10"}).json()["job_id"]
            bad = client.post("/certify", files={"file": ("b.png", truncated_png())},
                              data={"n": "100", "n0": "10"}).json()["job_id"]
            assert poll_job(client, good)["status"] == "succeeded"
            assert poll_job(client, bad)["error"]["error"] == "corrupt_image"
        os.killpg(serve.pid, signal.SIGINT)
        assert serve.wait(30) == 0
        assert not [pid for pid in children if _alive(pid)]
        text = log_path.read_text()
        assert "Traceback" not in text and "KeyboardInterrupt" not in text, text
        # Redis outlived the workers: each one unregistered itself.
        assert "Could not register" not in text and "Teardown incomplete" not in text, text
        assert f"job succeeded job_id={good}" in text
        assert f"job failed job_id={bad} model=test-cnn outcome=failed error_code=corrupt_image" \
            in text
    finally:
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGKILL)
            serve.wait()
