"""Fault scenarios about what sits on the queue: poison jobs, and a Redis restart under a deep queue.

- `run_poison`: real jobs flow through two workers while pickled and garbage
  jobs (and unparsable job hashes) are written to the queue and to the started
  registry. Every real job must end, every read (`GET /jobs`, polls,
  `/readyz`) must answer 200, no worker may exit, and no poison is run.
- `run_restart_deep_queue`: one worker runs a long job with `queued` short jobs
  behind it; Redis is SIGKILLed and started again from its append-only file.
  The interrupted job must run next (before any job queued behind it) and keep
  its retries.

`scripts/fault_injection.py --scenario poison|redis-restart` runs them at full
size; `tests/service/test_poison_jobs.py` and `test_redis_restart_queue.py`
run short versions.
"""

import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import redis

from certify_testkit.faults import distinct_png
from certify_testkit.model_fixture import write_test_model
from certify_testkit.poison_jobs import POISON_KINDS, put_poison
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

SHORT_JOB = {"n": "10", "n0": "5", "batch_size": "10"}
LONG_JOB = {"n": "5000", "n0": "10", "batch_size": "100"}


class Service:
    """A private Redis (append-only file, fsync always), an API and `workers` workers."""

    def __init__(self, root: Path, workers: int) -> None:
        self.redis_dir = root / "redis"
        self.redis_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.options = ("--appendonly", "yes", "--appendfsync", "always")
        self.redis_process = start_redis(self.port, self.redis_dir, *self.options)
        self.redis = redis.Redis(port=self.port)
        env = service_env(f"redis://127.0.0.1:{self.port}/0", write_test_model(root / "models"))
        api_port = free_port()  # the API first: a worker's start (torch) slows it
        self.api = start_api(env, api_port, root / "api.log")
        self.workers = [start_worker(env, root / f"worker-{i}.log") for i in range(workers)]
        self.url = f"http://127.0.0.1:{api_port}"
        wait_for(lambda: httpx.get(f"{self.url}/readyz").json().get("workers") == workers, 120,
                 "workers ready")

    def kill_and_restart_redis(self, down_s: float) -> float:
        """SIGKILL Redis, wait `down_s`, start it again from its file; returns when it is back."""
        self.redis_process.send_signal(signal.SIGKILL)
        self.redis_process.wait(30)
        time.sleep(down_s)
        self.redis_process = start_redis(self.port, self.redis_dir, *self.options)
        return time.time()

    def close(self) -> None:
        for process in (self.api, *self.workers, self.redis_process):
            stop(process)


def submit(client: httpx.Client, index: int, fields: dict[str, str]) -> str:
    answer = client.post("/certify", files={"file": (f"{index}.png", distinct_png(index))},
                         data=fields)
    assert answer.status_code == 202, answer.text
    return str(answer.json()["job_id"])


def wait_all_ended(client: httpx.Client, job_ids: list[str], settle_s: float,
                   bad_answers: Counter[str] | None = None) -> dict[str, dict[str, Any]]:
    """Each job's final view (404s and unended jobs are left out); counts non-200 polls."""
    views: dict[str, dict[str, Any]] = {}
    pending, deadline = set(job_ids), time.monotonic() + settle_s
    while pending and time.monotonic() < deadline:
        for job_id in sorted(pending):
            answer = client.get(f"/jobs/{job_id}")
            if answer.status_code != 200:
                if bad_answers is not None:
                    bad_answers[f"GET /jobs/{{id}} {answer.status_code}"] += 1
                continue
            if answer.json()["status"] in TERMINAL:
                views[job_id] = answer.json()
                pending.discard(job_id)
        time.sleep(0.3)
    return views


def outcome_counts(views: dict[str, dict[str, Any]]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for view in views.values():
        code = (view.get("error") or {}).get("error")
        counts[view["status"] + (f": {code}" if code else "")] += 1
    return counts


# -- a poison job among real ones ------------------------------------------------------

@dataclass
class PoisonReport:
    real_jobs: int = 0
    poisons: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    unended: int = 0
    bad_answers: Counter[str] = field(default_factory=Counter)  # any read not answering 200
    reads: int = 0
    poisons_moved_aside: int = 0
    poisons_unpickled: bool = False
    workers_alive: int = 0
    workers: int = 0
    seconds: float = 0.0

    @property
    def healthy(self) -> bool:
        return (not self.unended and not self.bad_answers and not self.poisons_unpickled
                and self.workers_alive == self.workers and self.poisons_moved_aside == self.poisons)

    def rows(self) -> list[tuple[str, object]]:
        rows: list[tuple[str, object]] = [("real jobs accepted", self.real_jobs),
                                          ("poison jobs written", self.poisons)]
        rows += sorted(self.outcomes.items())
        rows += [("real jobs not ended", self.unended), ("reads (GET /jobs, /readyz, /metrics)", self.reads)]
        rows += [(f"read answered {code}", n) for code, n in sorted(self.bad_answers.items())]
        rows += [("poisons moved aside", self.poisons_moved_aside),
                 ("a pickle was unpickled", self.poisons_unpickled),
                 ("workers still running", f"{self.workers_alive}/{self.workers}"),
                 ("seconds", round(self.seconds, 1))]
        return rows


def _read_continuously(url: str, report: PoisonReport, stop_reading: threading.Event) -> None:
    with httpx.Client(base_url=url, timeout=30) as client:
        while not stop_reading.is_set():
            for path in ("/jobs", "/readyz", "/metrics"):
                status = client.get(path).status_code
                report.reads += 1
                if status != 200:
                    report.bad_answers[f"GET {path} {status}"] += 1
            time.sleep(0.1)


def run_poison(root: Path, jobs: int, rounds: int = 3, settle_s: float = 120.0) -> PoisonReport:
    """`rounds` times: a third of the real jobs, then one poison of each kind queued and one
    put in the started registry (as if its worker had died)."""
    report, started = PoisonReport(), time.monotonic()
    service = Service(root, workers=2)
    marker = root / "unpickled"
    stop_reading = threading.Event()
    reader = threading.Thread(target=_read_continuously, args=(service.url, report, stop_reading),
                              daemon=True)
    reader.start()
    poisons: list[str] = []
    try:
        with httpx.Client(base_url=service.url, timeout=30) as client:
            real: list[str] = []
            for round_index in range(rounds):
                for index in range(round_index * jobs // rounds, (round_index + 1) * jobs // rounds):
                    real.append(submit(client, index, SHORT_JOB))
                for kind in POISON_KINDS:
                    poisons.append(put_poison(service.redis, "certify", kind, marker))
                    poisons.append(put_poison(service.redis, "certify", kind, marker, started=True))
            report.real_jobs, report.poisons = len(real), len(poisons)
            views = wait_all_ended(client, real, settle_s, report.bad_answers)
            report.outcomes, report.unended = outcome_counts(views), len(real) - len(views)
            time.sleep(3)  # past the API's abandoned-job sweep and the workers' maintenance
        report.poisons_moved_aside = sum(
            bool(service.redis.exists(f"certify:unreadable-job:{job_id}")) for job_id in poisons)
        report.poisons_unpickled = marker.exists()
        report.workers = len(service.workers)
        report.workers_alive = sum(process.poll() is None for process in service.workers)
    finally:
        stop_reading.set()
        reader.join(30)
        service.close()
        report.seconds = time.monotonic() - started
    return report


# -- a Redis restart under a deep queue ---------------------------------------------------

@dataclass
class RestartReport:
    queued_behind: int = 0
    interrupted_status: str = ""
    interrupted_attempts: int = 0
    retries_left_before: int | None = None
    retries_left_after: int | None = None
    started_before_it: int = 0  # jobs queued behind it whose last attempt started first
    waited_after_restart_s: float = 0.0  # Redis back -> its next attempt started
    outcomes: Counter[str] = field(default_factory=Counter)
    unended: int = 0
    seconds: float = 0.0

    @property
    def healthy(self) -> bool:
        return (self.interrupted_status == "succeeded" and self.interrupted_attempts == 2
                and self.started_before_it == 0 and not self.unended
                and self.retries_left_after == self.retries_left_before)

    def rows(self) -> list[tuple[str, object]]:
        return [("jobs queued behind the interrupted one", self.queued_behind),
                ("interrupted job", f"{self.interrupted_status}, {self.interrupted_attempts} attempts"),
                ("its retries left (before -> after)",
                 f"{self.retries_left_before} -> {self.retries_left_after}"),
                ("jobs behind it that started first", self.started_before_it),
                ("Redis back -> its next attempt (s)", round(self.waited_after_restart_s, 2)),
                *sorted(self.outcomes.items()),
                ("jobs not ended", self.unended), ("seconds", round(self.seconds, 1))]


def _stamp(view: dict[str, Any], name: str) -> float:
    return datetime.fromisoformat(str(view[name])).timestamp()


def run_restart_deep_queue(root: Path, queued: int, down_s: float = 2.0,
                           settle_s: float = 180.0) -> RestartReport:
    report, started = RestartReport(queued_behind=queued), time.monotonic()
    service = Service(root, workers=1)
    try:
        with httpx.Client(base_url=service.url, timeout=30) as client:
            long_id = submit(client, 0, LONG_JOB)
            behind = [submit(client, index, SHORT_JOB) for index in range(1, queued + 1)]
            report.retries_left_before = _retries_left(service.redis, long_id)
            wait_for(lambda: (client.get(f"/jobs/{long_id}").json().get("progress") or {})
                     .get("done", 0) > 0, 60, "the long job to make progress")
            back_at = service.kill_and_restart_redis(down_s)
            # Read while it runs again: an ended job leaves Redis once its record is written.
            wait_for(lambda: client.get(f"/jobs/{long_id}").json().get("attempts", 0) >= 2, 120,
                     "the interrupted job to start again")
            report.retries_left_after = _retries_left(service.redis, long_id)
            views = wait_all_ended(client, [long_id, *behind], settle_s)
        report.unended = queued + 1 - len(views)
        report.outcomes = outcome_counts({k: v for k, v in views.items() if k != long_id})
        if long_id in views:
            view = views[long_id]
            report.interrupted_status, report.interrupted_attempts = view["status"], view["attempts"]
            its_start = _stamp(view, "started_at")
            report.waited_after_restart_s = its_start - back_at
            report.started_before_it = sum(
                _stamp(views[job_id], "started_at") < its_start for job_id in behind
                if job_id in views and views[job_id].get("started_at"))
    finally:
        service.close()
        report.seconds = time.monotonic() - started
    return report


def _retries_left(connection: redis.Redis, job_id: str) -> int | None:
    value = connection.hget(f"rq:job:{job_id}", "retries_left")
    return int(value) if value is not None else None
