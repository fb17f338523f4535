"""A two-tenant flood: tenant A queues 200 jobs, then tenant B queues one small job.

A private Redis, two workers and the API (two API keys) run as real processes;
the upload TTL is short (`UPLOAD_TTL_S`), far below the flood's length, so an
upload that is not kept alive while its job waits expires. Measured: how long
B's job waited before a worker started it, against how long one of A's jobs
runs; and how A's jobs ended (every one should succeed: none `upload_expired`).
"""

import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from certify_testkit.faults import JOB_FIELDS, distinct_png
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

KEY_A, KEY_B = "tenant-a-key", "tenant-b-key"
UPLOAD_TTL_S = 5
FLOOD_FIELDS = {**JOB_FIELDS, "n": "200", "batch_size": "200"}


@dataclass
class FloodReport:
    flood: int = 0
    b_wait_s: float = float("nan")  # B's job: created -> started
    b_total_s: float = float("nan")  # B's job: created -> ended
    a_run_s: float = float("nan")  # median run time of A's jobs (started -> ended)
    a_outcomes: Counter[str] = field(default_factory=Counter)
    a_flood_s: float = float("nan")  # first A job created -> last A job ended
    seconds: float = 0.0

    @property
    def b_wait_in_a_jobs(self) -> float:
        return self.b_wait_s / self.a_run_s if self.a_run_s else float("nan")

    def rows(self) -> list[tuple[str, object]]:
        return [("tenant A jobs (flood)", self.flood),
                ("tenant A job run time, median (s)", round(self.a_run_s, 3)),
                ("tenant A flood, first queued to last ended (s)", round(self.a_flood_s, 1)),
                *((f"tenant A: {outcome}", count) for outcome, count in
                  sorted(self.a_outcomes.items())),
                ("tenant B job waited (s)", round(self.b_wait_s, 3)),
                ("tenant B job waited, in A job run times", round(self.b_wait_in_a_jobs, 2)),
                ("tenant B job created to ended (s)", round(self.b_total_s, 3)),
                ("seconds", round(self.seconds, 1))]


def _when(view: dict[str, Any], name: str) -> float:
    return datetime.fromisoformat(view[name]).timestamp()


def _final(http: httpx.Client, job_id: str, deadline: float) -> dict[str, Any]:
    while True:
        view: dict[str, Any] = http.get(f"/jobs/{job_id}").json()
        if view["status"] in TERMINAL or time.monotonic() > deadline:
            return view
        time.sleep(0.2)


def _flood(url: str, count: int, clients: int = 4) -> list[str]:
    ids: list[str] = []
    lock, indices = threading.Lock(), iter(range(count))

    def submit() -> None:
        with httpx.Client(base_url=url, headers={"X-API-Key": KEY_A}, timeout=60) as http:
            for index in indices:
                answer = http.post("/certify", data=FLOOD_FIELDS,
                                   files={"file": (f"{index}.png", distinct_png(index))})
                assert answer.status_code == 202, answer.text
                with lock:
                    ids.append(answer.json()["job_id"])

    threads = [threading.Thread(target=submit) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return ids


def run_tenant_flood(root: Path, flood: int = 200, workers: int = 2, settle_s: float = 600.0,
                     upload_ttl_s: int = UPLOAD_TTL_S) -> FloodReport:
    report, started = FloodReport(flood=flood), time.monotonic()
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    processes = [start_redis(port, root)]
    env = service_env(f"redis://127.0.0.1:{port}/0", write_test_model(root / "models"),
                      CERTIFY_API_KEYS=f"{KEY_A},{KEY_B}", CERTIFY_UPLOAD_TTL_S=str(upload_ttl_s))
    try:
        processes += [start_worker(env, root / f"worker-{i}.log") for i in range(workers)]
        api_port = free_port()
        processes.append(start_api(env, api_port, root / "api.log"))
        url = f"http://127.0.0.1:{api_port}"
        wait_for(lambda: httpx.get(f"{url}/readyz", headers={"X-API-Key": KEY_A}).json()
                 .get("workers") == workers, 120, "workers ready")
        a_ids = _flood(url, flood)
        with httpx.Client(base_url=url, headers={"X-API-Key": KEY_B}, timeout=60) as http:
            answer = http.post("/certify", data=JOB_FIELDS,
                               files={"file": ("b.png", distinct_png(99_999))})
            assert answer.status_code == 202, answer.text
            deadline = time.monotonic() + settle_s
            b_view = _final(http, answer.json()["job_id"], deadline)
        if b_view.get("started_at"):
            report.b_wait_s = _when(b_view, "started_at") - _when(b_view, "created_at")
        if b_view.get("ended_at"):
            report.b_total_s = _when(b_view, "ended_at") - _when(b_view, "created_at")
        with httpx.Client(base_url=url, headers={"X-API-Key": KEY_A}, timeout=60) as http:
            views = [_final(http, job_id, deadline) for job_id in a_ids]
        _account_flood(views, report)
    finally:
        for process in reversed(processes):
            stop(process)
        report.seconds = time.monotonic() - started
    return report


def _account_flood(views: list[dict[str, Any]], report: FloodReport) -> None:
    runs = [_when(v, "ended_at") - _when(v, "started_at") for v in views
            if v["status"] == "succeeded" and v.get("started_at") and v.get("ended_at")]
    report.a_run_s = statistics.median(runs) if runs else float("nan")
    for view in views:
        code = (view.get("error") or {}).get("error")
        report.a_outcomes[view["status"] + (f": {code}" if code else "")] += 1
    ended = [_when(v, "ended_at") for v in views if v.get("ended_at")]
    if ended:
        report.a_flood_s = max(ended) - min(_when(v, "created_at") for v in views)


def goal_met(report: FloodReport) -> bool:
    """B waits at most about one of A's jobs (plus the one handed to the queue before it
    arrived), and no A job lost its upload while it waited."""
    return report.b_wait_in_a_jobs <= 2.0 and report.a_outcomes.get("succeeded") == report.flood
