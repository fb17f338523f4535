"""What the browser tests ask the service directly: jobs, their states, and request counts."""

import re
import time
from pathlib import Path
from typing import Any

import httpx

from certify_testkit.processes import REPO, TERMINAL
from tests.dashboard.served import Served

SAMPLE_PNG = REPO / "certify_core" / "samples" / "fmnist-ankle-boot.png"
SAMPLE_VIDEO = REPO / "certify_core" / "samples" / "moving-fmnist-trouser.mp4"
METRIC = re.compile(r'^certify_api_requests_total\{(?P<labels>.*)\} (?P<value>\S+)$', re.M)


def submit(served: Served, path: Path = SAMPLE_PNG, **fields: str) -> str:
    with served.client() as client:
        answer = client.post("/certify", files={"file": (path.name, path.read_bytes())}, data=fields)
        answer.raise_for_status()
        return str(answer.json()["job_id"])


def job(served: Served, job_id: str) -> dict[str, Any]:
    with served.client() as client:
        answer = client.get(f"/jobs/{job_id}")
        answer.raise_for_status()
        return dict(answer.json())


def wait_until_ended(served: Served, job_id: str, timeout: float = 180.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        view = job(served, job_id)
        if view["status"] in TERMINAL:
            return view
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {view['status']} after {timeout} s")
        time.sleep(0.5)


def wait_until_idle(served: Served, timeout: float = 240.0) -> None:
    """Every job has ended (the idle-polling count needs a list that does not change)."""
    with served.client() as client:
        for job_id in [view["job_id"] for view in client.get("/jobs?limit=200").json()["jobs"]]:
            wait_until_ended(served, job_id, timeout)


def requests_served(served: Served, method: str, route: str) -> int:
    """How many requests the API answered on `route` (its Prometheus counter, any status)."""
    text = httpx.get(f"{served.url}/metrics", timeout=10.0).text
    total = 0.0
    for match in METRIC.finditer(text):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', match["labels"]))
        if labels.get("method") == method and labels.get("route") == route:
            total += float(match["value"])
    return int(total)
