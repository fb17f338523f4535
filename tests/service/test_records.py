"""Records that outlive the service: `certify serve` stopped with Ctrl-C and started again.

`certify serve` runs a private Redis without persistence, so a restart is also the case
"Redis's own data is gone": the job, its signed certificate, its upload and what the
dashboard's page (and its re-check command) reads must all come back from the data
directory, and `certify verify` must accept the certificate against the published keys.
"""

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from certify_testkit.processes import REPO, free_port, poll_job, service_env, wait_for

pytestmark = pytest.mark.integration


@contextmanager
def serve(env: dict[str, str], log: Path) -> Iterator[str]:
    port = free_port()
    with log.open("ab") as handle:
        process = subprocess.Popen([sys.executable, "-m", "certify_cli.main", "serve", "--port",
                                    str(port)], env=env, cwd=REPO, stdout=handle, stderr=handle,
                                   start_new_session=True)
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            return httpx.get(f"{url}/readyz").status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(ready, 120, "certify serve ready", process)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C, as a terminal sends it
        process.wait(timeout=60)


def certificate(client: httpx.Client, job_id: str) -> dict[str, Any]:
    """The signed certificate, once the record is written (moments after the job ends)."""
    deadline = time.monotonic() + 30
    while True:
        answer = client.get(f"/jobs/{job_id}/certificate")
        if answer.status_code == 200 or time.monotonic() > deadline:
            assert answer.status_code == 200, answer.text
            body: dict[str, Any] = answer.json()
            return body
        time.sleep(0.3)


def test_a_job_its_certificate_and_upload_survive_a_restart_without_redis_data(
        model_dir: Path, logs: Path, sample_png: bytes, tmp_path: Path) -> None:
    env = service_env("unused", model_dir, CERTIFY_DATA_DIR=str(tmp_path / "data"))
    del env["CERTIFY_REDIS_URL"]  # serve's own Redis: no persistence, gone at each stop
    with serve(env, logs / "records-serve.log") as url, httpx.Client(base_url=url) as client:
        job_id = client.post("/certify", files={"file": ("a.png", sample_png)},
                             data={"n": "100", "n0": "10"}).json()["job_id"]
        before = poll_job(client, job_id)
        assert before["status"] == "succeeded"
        signed = certificate(client, job_id)
        keys = client.get("/.well-known/certify-keys").json()
    with serve(env, logs / "records-serve.log") as url, httpx.Client(base_url=url) as client:
        after = client.get(f"/jobs/{job_id}")
        assert after.status_code == 200, after.text
        view = after.json()
        for field in ("status", "model", "options", "result", "created_at", "ended_at"):
            assert view[field] == before[field], field
        assert after.headers["etag"] and client.get(
            f"/jobs/{job_id}", headers={"If-None-Match": after.headers["etag"]}).status_code == 304
        assert client.get(f"/jobs/{job_id}/certificate").json() == signed
        assert client.get("/.well-known/certify-keys").json() == keys
        upload = client.get(f"/jobs/{job_id}/input")
        assert upload.status_code == 200 and upload.content == sample_png
        listed = client.get("/jobs", params={"model": before["model"]}).json()
        assert [job["job_id"] for job in listed["jobs"]] == [job_id]
        assert client.get(f"/dashboard/jobs/{job_id}").status_code == 200
        # The dashboard's re-check command needs the model, the options and the seed: all kept.
        assert view["result"]["seed"] and view["options"]["n"] == 100
        document, upload_path = tmp_path / "certificate.json", tmp_path / "upload.png"
        document.write_text(json.dumps(signed))
        upload_path.write_bytes(upload.content)
        verified = subprocess.run(
            [sys.executable, "-m", "certify_cli.main", "verify", str(document), "--input",
             str(upload_path), "--service", url], capture_output=True, text=True, cwd=REPO,
            timeout=60, check=False)
        assert verified.returncode == 0, verified.stdout + verified.stderr
