"""`certify serve`: private Redis, one worker and the API in one command; SIGINT stops all."""

import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.service.processes import REPO, free_port, poll_job, service_env, wait_for

pytestmark = pytest.mark.integration


def _children(pid: int) -> list[int]:
    listed = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True,
                            text=True, check=False).stdout.split()
    return [int(p) for p in listed]


def _alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text()


def test_serve_runs_everything_and_stops_cleanly(
    model_dir: Path, logs: Path, sample_png: bytes
) -> None:
    env = service_env("unused", model_dir)
    del env["CERTIFY_REDIS_URL"]
    port = free_port()
    with (logs / "serve.log").open("ab") as log:
        serve = subprocess.Popen([sys.executable, "-m", "certify_cli.main", "serve", "--port",
                                  str(port)], env=env, cwd=REPO, stdout=log, stderr=log)
    try:
        url = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            try:
                return httpx.get(f"{url}/readyz").status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(ready, 90, "certify serve ready", serve)
        children = _children(serve.pid)
        assert len(children) == 3  # redis-server, worker, API
        with httpx.Client(base_url=url) as client:
            job = client.post("/certify", files={"file": ("a.png", sample_png)},
                              data={"n": "100", "n0": "10"}).json()
            assert poll_job(client, job["job_id"])["status"] == "succeeded"
        serve.send_signal(signal.SIGINT)
        assert serve.wait(30) == 0
        assert not [pid for pid in children if _alive(pid)]
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()
