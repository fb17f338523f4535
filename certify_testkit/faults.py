"""Fault injection: accepted jobs must all end while a worker dies and Redis restarts.

A private Redis (append-only file on, its own port and directory), one API and
two workers run as real processes. Clients submit small jobs (n = 10, each a
distinct image, so each has its own upload) while the run SIGKILLs one busy
worker, then stops Redis with SIGTERM and later with SIGKILL, starting it again
each time from its append-only file. Nothing else is restarted. Afterwards
every job that was accepted (202) is accounted for: succeeded, failed with a
code, lost (unknown to the API) or stuck (not ended by the deadline).

`scripts/fault_injection.py` runs it at full size; `test_fault_injection.py`
runs a short version.
"""

import io
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import redis
from PIL import Image
from rq import Worker

from certify_testkit.model_fixture import write_test_model
from certify_testkit.processes import (
    TERMINAL,
    free_port,
    service_env,
    start_api,
    start_redis,
    start_worker,
    stop,
    wait_for,
)

JOB_FIELDS = {"n": "10", "n0": "5", "batch_size": "10"}
REDIS_DOWN_S = 1.5


@dataclass
class FaultReport:
    submitted: int = 0
    accepted: list[str] = field(default_factory=list)
    refused: Counter[str] = field(default_factory=Counter)  # answers other than 202, by code
    outcomes: Counter[str] = field(default_factory=Counter)  # succeeded / failed:<code> / ...
    lost: list[str] = field(default_factory=list)
    stuck: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    surviving_worker_alive: bool = False
    seconds: float = 0.0

    def rows(self) -> list[tuple[str, object]]:
        rows: list[tuple[str, object]] = [("submitted", self.submitted),
                                          ("accepted (202)", len(self.accepted))]
        rows += [(f"refused: {code}", count) for code, count in sorted(self.refused.items())]
        rows += [(outcome, count) for outcome, count in sorted(self.outcomes.items())]
        rows += [("lost", len(self.lost)), ("stuck", len(self.stuck)),
                 ("surviving worker still running", self.surviving_worker_alive),
                 ("seconds", round(self.seconds, 1))]
        return rows


def distinct_png(index: int) -> bytes:
    pixels = np.random.default_rng(index).integers(0, 256, (28, 28), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


class Cluster:
    """Redis with AOF, one API, two workers; Redis can be stopped and started again."""

    def __init__(self, root: Path, appendfsync: str) -> None:
        self.root = root
        self.redis_dir = root / "redis"
        self.redis_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.options = ("--appendonly", "yes", "--appendfsync", appendfsync)
        self.redis = start_redis(self.port, self.redis_dir, *self.options)
        model_dir = write_test_model(root / "models")
        self.env = service_env(f"redis://127.0.0.1:{self.port}/0", model_dir)
        self.workers = [start_worker(self.env, root / f"worker-{i}.log") for i in range(2)]
        api_port = free_port()
        self.api = start_api(self.env, api_port, root / "api.log")
        self.url = f"http://127.0.0.1:{api_port}"
        wait_for(lambda: httpx.get(f"{self.url}/readyz").json().get("workers") == 2, 120,
                 "two workers ready")

    def restart_redis(self, sig: signal.Signals) -> None:
        self.redis.send_signal(sig)
        self.redis.wait(30)
        time.sleep(REDIS_DOWN_S)
        self.redis = start_redis(self.port, self.redis_dir, *self.options)

    def kill_busy_worker(self) -> int:
        """SIGKILL the first worker that is running a job; returns its index."""
        connection = redis.Redis(port=self.port)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            busy = {w.pid for w in Worker.all(connection=connection) if w.get_current_job_id()}
            for index, process in enumerate(self.workers):
                if process.pid in busy:
                    os.kill(process.pid, signal.SIGKILL)
                    process.wait()
                    return index
            time.sleep(0.02)
        raise AssertionError("no worker became busy within 30 s")

    def close(self) -> None:
        for process in (self.api, *self.workers, self.redis):
            stop(process)


def _submit(client: httpx.Client, index: int, report: FaultReport, lock: threading.Lock) -> None:
    """One job, retried while the API says Redis is away (as a client would)."""
    for _ in range(100):
        try:
            answer = client.post("/certify", files={"file": (f"{index}.png", distinct_png(index))},
                                 data=JOB_FIELDS)
        except httpx.HTTPError as exc:
            code = type(exc).__name__
        else:
            if answer.status_code == 202:
                with lock:
                    report.accepted.append(answer.json()["job_id"])
                return
            code = f"{answer.status_code} {answer.json().get('error')}"
        with lock:
            report.refused[code] += 1
        time.sleep(0.2)


def _faults(cluster: Cluster, report: FaultReport, progress: Callable[[], int],
            jobs: int) -> tuple[int, ...]:
    """Injects the faults at fixed fractions of the submissions; returns the killed index."""
    def at(fraction: float) -> None:
        wait_for(lambda: progress() >= fraction * jobs, 600, f"{fraction:.0%} submitted")

    at(0.2)
    killed = cluster.kill_busy_worker()
    report.events.append(f"SIGKILL worker {killed} after {progress()} submissions")
    at(0.45)
    cluster.restart_redis(signal.SIGTERM)
    report.events.append(f"Redis SIGTERM + restart after {progress()} submissions")
    at(0.7)
    cluster.restart_redis(signal.SIGKILL)
    report.events.append(f"Redis SIGKILL + restart after {progress()} submissions")
    return (killed,)


def _account(client: httpx.Client, report: FaultReport, settle_s: float) -> None:
    pending = set(report.accepted)
    deadline = time.monotonic() + settle_s
    while pending and time.monotonic() < deadline:
        for job_id in sorted(pending):
            answer = client.get(f"/jobs/{job_id}")
            if answer.status_code == 404:
                report.lost.append(job_id)
                pending.discard(job_id)
            elif answer.status_code == 200 and answer.json()["status"] in TERMINAL:
                view: dict[str, Any] = answer.json()
                code = (view.get("error") or {}).get("error")
                report.outcomes[view["status"] + (f": {code}" if code else "")] += 1
                pending.discard(job_id)
        time.sleep(0.5)
    report.stuck = sorted(pending)


def run_faults(root: Path, jobs: int, rate: float = 4.0, clients: int = 4,
               settle_s: float = 120.0, appendfsync: str = "always") -> FaultReport:
    """`rate` paces submissions (jobs/s in all) so the faults land while jobs arrive and run."""
    report, lock = FaultReport(), threading.Lock()
    started = time.monotonic()
    cluster = Cluster(root, appendfsync)
    try:
        counter = iter(range(jobs))

        def submitter() -> None:
            with httpx.Client(base_url=cluster.url, timeout=30) as client:
                for index in counter:  # shared iterator: each index once across threads
                    with lock:
                        report.submitted += 1
                    _submit(client, index, report, lock)
                    time.sleep(clients / rate)

        threads = [threading.Thread(target=submitter, daemon=True) for _ in range(clients)]
        for thread in threads:
            thread.start()
        killed = _faults(cluster, report, lambda: report.submitted, jobs)
        for thread in threads:
            thread.join()
        with httpx.Client(base_url=cluster.url, timeout=30) as client:
            _account(client, report, settle_s)
        survivors = [p for i, p in enumerate(cluster.workers) if i not in killed]
        report.surviving_worker_alive = all(p.poll() is None for p in survivors)
    finally:
        cluster.close()
        report.seconds = time.monotonic() - started
    return report
